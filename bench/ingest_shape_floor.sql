-- The PostgreSQL floor of the "two rows per record" shape docs/PERFORMANCE.md proposes for issue 3's hot
-- path (not built): 1,000,000 records written as (1) landing rows as the pipeline writes them today and
-- (2) one typed row per valid record — normalised data, event type and date, the ID's blind index, no person
-- yet (persons, documents, links and the events' person would come from the set-based step after the
-- batch) — with the few indexes such a row needs (primary key, (feed, source id) unique, (type, date)).
-- SQL only, no Python, into scratch tables of a copy of a benchmark database (the server writes two text
-- files to /tmp and reads them back with COPY, as the pipeline's COPY would send them; needs a superuser):
--   createdb -h 127.0.0.1 -U postgres -T weibao_bench_ingest weibao_floor
--   psql -h 127.0.0.1 -U postgres weibao_floor -f bench/ingest_shape_floor.sql
\timing on
drop table if exists stg, shape_landing, shape_record;
create unlogged table stg as select g as n, 'E'||lpad(g::text,9,'0') as source_id,
  encode(sha256(g::text::bytea), 'hex') as idx, '张三'||g as name, date '2010-01-01' + (g%4000) as birth,
  310101001 + (g % 200) as street, date '2025-01-01' + (g%300) as occurred, (g%30) as days
  from generate_series(1,1000000) g;
create table shape_landing (id bigserial primary key, batch_id bigint not null, row_number int not null,
  source_id varchar(200) not null, raw jsonb not null, content_hash varchar(40) not null,
  status varchar(10) not null, errors jsonb not null, resolution_reason varchar(500) not null,
  unique (batch_id, row_number));
create table shape_record (id bigserial primary key, feed_id int not null, source_id varchar(200) not null,
  content_hash varchar(40) not null, event_type_id int, occurred_on date, id_index varchar(64) not null,
  person_id bigint, data jsonb not null, batch_id bigint not null, row_number int not null,
  created timestamptz not null, unique (feed_id, source_id));
create index on shape_record (event_type_id, occurred_on);
-- the rows as COPY text first (what the pipeline sends), then timed: COPY into the indexed tables
copy (select 1, n, source_id, jsonb_build_object('source_id', source_id, 'id_number', jsonb_build_object(
    '__enc__', encode(sha256(idx::bytea), 'base64')), 'name', name, 'sex', '男', 'birth_date', birth::text,
    'street', street::text, 'address', n || '号', 'occurred_on', occurred::text, 'days', days::text, 'school',
    '第一中学'), left(idx, 40), 'pending', '{}', '' from stg) to '/tmp/weibao_shape_landing.txt';
copy (select 1, source_id, left(idx, 40), 1, occurred, idx, jsonb_build_object('name', name, 'birth_date',
    birth, 'street', street, 'days', days, 'id_number_masked', '310101********1234'), 1, n, now() from stg)
  to '/tmp/weibao_shape_record.txt';
checkpoint;
begin;
copy shape_landing (batch_id, row_number, source_id, raw, content_hash, status, errors, resolution_reason)
  from '/tmp/weibao_shape_landing.txt';
commit;
begin;
copy shape_record (feed_id, source_id, content_hash, event_type_id, occurred_on, id_index, data, batch_id,
    row_number, created) from '/tmp/weibao_shape_record.txt';
commit;
select pg_size_pretty(pg_total_relation_size('shape_landing')) as landing, pg_size_pretty(pg_total_relation_size('shape_record')) as record;
drop table stg, shape_landing, shape_record;
