//! nmbrs-sync: keeps an HRIS table and Visma Nmbrs payroll in agreement.

pub mod sandbox;
