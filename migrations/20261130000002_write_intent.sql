-- The base a write will leave, recorded before the write (issue: no lost update across crashes):
-- JSON {"base_after": {field: value}, "writes": {field: {"to": "nmbrs"|"hris", "before": v, "after": v}}}.
-- The next plan settles each written field by what the written side now holds.
ALTER TABLE employee_links ADD COLUMN write_intent TEXT;
