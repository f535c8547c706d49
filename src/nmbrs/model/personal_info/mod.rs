//! Personal info, field by field: the read shape of the history endpoints, the entry in force for a
//! payroll period, and the two write shapes (create, PUT). Source: `docs/nmbrs-openapi.yaml`, schemas
//! `PersonalInfos`/`PersonalInfo`/`EmployeeBirth`/`EmployeePartnerInfo` (read), `CreateEmployee`/
//! `CreatePersonalInfo`/`CreateEmployeeBirth` (create), `UpdatePersonalInfo`/`UpdateEmployeeBasic`/
//! `UpdateEmployeeBirth`/`UpdatePartnerInfo` (PUT); summarised in docs/nmbrs-api.md.
//!
//! Unknown is not empty: a key missing where the description puts it is a [`ReadError`] naming the
//! path, never a `None` the merge could push or pull. `null` is an empty value.

mod read;
mod write;

pub use read::{InForce, ReadError, in_force, in_force_by_period, read_values};
pub use write::{
    AdditionalEmployeeInfo, Contact, CreateBasic, CreateBirth, CreateDefaults, CreateEmployee,
    CreateError, CreatePersonalInfo, UpdateBasic, UpdateBirth, UpdatePartner, UpdatePersonalInfo,
};

#[cfg(test)]
mod tests;
