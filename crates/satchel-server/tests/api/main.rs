//! The HTTP API, exercised as a client would: each test starts a real server on `127.0.0.1:0` with
//! its own database (SQLite in a temporary folder, or a fresh PostgreSQL database when
//! `SATCHEL_TEST_DATABASE_URL` names a server) and its own chunk folder.

mod accounts;
mod admin;
mod app_passwords;
mod bad_input;
mod concurrency;
mod content;
mod contract;
mod dav;
mod durability;
mod folders;
mod gc;
mod helpers;
mod journal;
mod limits;
mod links;
mod login_limits;
mod member_links;
mod names;
mod notifications;
mod public_page;
mod redis;
mod search;
mod shares;
mod signed_urls;
mod statistics;
mod transfer_memory;
mod trash;
mod tus;
mod upload_hash;
mod uploads;
mod versions;
mod web;
mod web_files;
