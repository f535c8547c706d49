//! In-memory imitation of the Nmbrs REST API (see `../shared/nmbrs-api.md`).
