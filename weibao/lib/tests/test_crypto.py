import pytest
from django.test import override_settings

from weibao.lib.crypto import DecryptionError, blind_index, decrypt, encrypt

ID = "310104201506011234"


def test_aes_gcm_round_trip_and_fresh_nonce():
    a, b = encrypt(ID), encrypt(ID)
    assert a != b and a[0] == 1 and ID.encode() not in a
    assert decrypt(a) == decrypt(b) == ID


def test_sm4_gcm_round_trip_and_old_records_stay_readable():
    aes = encrypt(ID)
    with override_settings(FIELD_CIPHER="sm4-gcm"):
        sm4 = encrypt(ID)
        assert sm4[0] == 2 and decrypt(sm4) == ID and decrypt(aes) == ID


def test_altered_ciphertext_is_refused():
    blob = bytearray(encrypt(ID))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        decrypt(bytes(blob))


def test_wrong_key_is_refused():
    blob = encrypt(ID)
    with (
        override_settings(FIELD_ENCRYPTION_KEY="QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="),
        pytest.raises(DecryptionError),
    ):
        decrypt(blob)


def test_blind_index_is_deterministic_keyed_and_typed():
    index = blind_index(ID, "mainland_id")
    assert index == blind_index(ID, "mainland_id") and len(index) == 64 and ID not in index
    assert index != blind_index(ID, "passport")
    with override_settings(BLIND_INDEX_KEY="QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="):
        assert blind_index(ID, "mainland_id") != index
