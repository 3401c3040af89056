-- The PostgreSQL floor of feed ingest: 1,000,000 records written set-based into the registry and feed
-- tables (persons, identity documents, department links, source records, events) by INSERT … SELECT from
-- a staging table, with no Python at all. Run on a copy of a benchmark database (docs/PERFORMANCE.md):
--   createdb -h 127.0.0.1 -U postgres -T weibao_bench_ingest weibao_floor
--   psql -h 127.0.0.1 -U postgres weibao_floor -f bench/ingest_sql_floor.sql
-- Each statement is timed (\timing); the COMMIT includes the deferred checks of any foreign-key constraint.
\timing on
select id as org from accounts_organisation limit 1 \gset
select id as feed, event_type_id as et from feeds_feed where carries='events' limit 1 \gset
select id as batch from feeds_batch limit 1 \gset
select min(id) as street from accounts_area where level='street' \gset
drop table if exists stg;
create unlogged table stg as select g as n, 'E'||lpad(g::text,9,'0') as source_id, md5(g::text)||md5((g+1)::text) as idx, decode(md5(g::text)||md5(g::text),'hex') as enc,
  '310101********1234' as masked, '张三'||g as name, 'zhangsan' as py, 'zs' as ini, 'M' as sex, date '2010-01-01' + (g%4000) as birth,
  :street + (g % 200) as street_id, g||'号' as address, date '2025-01-01' + (g%300) as occurred, (g%30)::text as days
  from generate_series(1,1000000) g;
select max(id) from registry_person \gset
checkpoint;
begin;
create temp table np on commit drop as select nextval('registry_person_id_seq') as pid, n from stg;
insert into registry_person (id, uuid, kind, name, name_pinyin, name_initials, sex, birth_date, street_id, address, phone, sensitivity, created, updated)
 select np.pid, gen_random_uuid(), 'minor', name, py, ini, sex, birth, street_id, address, '', 'normal', now(), now() from stg join np using (n);
insert into registry_identitydocument (person_id, type, number_encrypted, number_index, number_masked, is_valid, created)
 select np.pid, 'mainland_id', enc, idx, masked, true, now() from stg join np using (n);
insert into registry_departmentlink (person_id, organisation_id, basis, created) select pid, :org, 'sent', now() from np;
create temp table sr on commit drop as select nextval('feeds_sourcerecord_id_seq') as sid, n from stg;
insert into feeds_sourcerecord (id, feed_id, source_id, content_hash, data, person_id, batch_id, row_number, created)
 select sid, :feed, source_id, left(idx,40), jsonb_build_object('name',name,'days',days,'birth_date',birth,'street',street_id), pid, :batch, n, now() from stg join np using (n) join sr using (n);
insert into feeds_event (uuid, person_id, event_type_id, occurred_on, source_organisation_id, feed_id, source_record_id, data, created)
 select gen_random_uuid(), pid, :et, occurred, :org, :feed, sid, jsonb_build_object('days', days), now() from stg join np using (n) join sr using (n);
commit;
