-- HRIS values of create-only fields (e.g. employee_type: the personal-info PUT has no employeeType)
-- already reported as not updatable through the API, as JSON {field: value}, so each is reported once.
ALTER TABLE employee_links ADD COLUMN held TEXT;
