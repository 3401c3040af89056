"""Small synthetic test data: the same children seen by two departments, with a little noise."""

import random

import pandas as pd

from weibao.lib.synthetic import PopulationGenerator

STREETS = [(s, "310115") for s in ("周浦镇", "花木街道", "张江镇")] + [
    (s, "310105") for s in ("仙霞新村街道", "天山路街道")
]


def people(n, seed=1):
    gen = PopulationGenerator(seed, streets=STREETS)
    rnd = random.Random(seed)
    rows = []
    while len(rows) < n:
        h = gen.household()
        phone = f"13{rnd.randrange(10**9):09d}"
        for m in h.minors:
            number = gen.id_number(h.district_code, m.birth_date, m.sex)
            rows.append(
                (
                    len(rows),
                    m.name,
                    m.sex,
                    m.birth_date.isoformat(),
                    number,
                    h.street,
                    h.guardians[0].name,
                    phone,
                )
            )
    left, right = [], []
    for i, name, sex, dob, number, street, guardian, phone in rows[:n]:
        left.append({"unique_id": f"L-{i}", "full_name": name, "sex": sex, "birth_date": dob,
                     "id_number": number if rnd.random() < 0.5 else "", "locality": street,
                     "guardian_name": guardian, "phone": phone if rnd.random() < 0.5 else ""})  # fmt: skip
        if rnd.random() < 0.9:
            if rnd.random() < 0.1:
                name = name[0] + name[:0:-1]  # swapped given name
            right.append({"unique_id": f"R-{i}", "full_name": name, "sex": "男" if sex == "M" else "女",
                          "birth_date": dob.replace("-", ""), "id_number": "", "locality": street,
                          "guardian_name": guardian if rnd.random() < 0.5 else "", "phone": phone})  # fmt: skip
    return pd.DataFrame(left), pd.DataFrame(right)
