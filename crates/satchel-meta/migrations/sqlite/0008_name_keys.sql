-- Name keys became NFD, full Unicode case folding, NFC (satchel_proto::name_key), which SQL cannot
-- compute. This drops the unique indexes on keys; the store then rewrites every key in Rust, renames
-- the newer of any two live siblings (or mounts) that now clash, and creates both indexes again, as
-- migrations 1 and 5 defined them, in this same transaction (satchel-meta/src/rekey.rs).
DROP INDEX nodes_live_name;
DROP INDEX shares_member_name;
