#!/usr/bin/env python3
"""Read what the sync wrote, through a client nobody here wrote.

Uses the vendor-description-based Python SDK ``nmbrs-rest-api`` (import name
``nmbrs_rest``) and nothing but its public API plus the standard library. Run by
``tests/it/sdk_reads.rs`` against the in-repo sandbox; it can be pointed at any
server that speaks the Nmbrs REST API.

Everything comes from the environment:

  NMBRS_SDK_BASE_URL          API root without ``/api`` (the SDK adds it), e.g. http://127.0.0.1:PORT
  NMBRS_SDK_TOKEN_URL         the identity server's token endpoint, e.g. http://127.0.0.1:PORT/connect/token
  NMBRS_SDK_CLIENT_ID         OAuth client id
  NMBRS_SDK_CLIENT_SECRET     OAuth client secret
  NMBRS_SDK_SUBSCRIPTION_KEY  X-Subscription-Key
  NMBRS_SDK_REFRESH_TOKEN     a refresh token of that client (spent here: tokens rotate)

It prints ONE JSON document on stdout: the debtors, the companies, each company's
employee listing, each employee's details (``GET /api/employees/{id}``) and its
personal-info history (``GET /api/companies/{companyId}/employees/personalinfo``).
Raw dicts are printed as the SDK returns them; SDK objects as the fields they
expose (plus ``raw``, the listing row they were built from).

Derived values, computed here so the caller compares plain strings:

- ``birth_date_amsterdam``: the SDK hands ``birthDate`` through as the API's
  date-time string. Nmbrs means a calendar date in Dutch time, and the sandbox
  writes Dutch local midnight in UTC (``1990-01-31T23:00:00Z`` is 1 February), so
  the calendar date is taken after converting the instant to Europe/Amsterdam
  with ``zoneinfo``, never by cutting the text before the ``T``.

Exit status: 0 with the document; 1 on any SDK error (its exception type and
message on stderr); 2 on a missing environment variable or an unexpected answer.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import nmbrs_rest
import nmbrs_rest.auth
from nmbrs_rest import Nmbrs, NmbrsError

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

ENV = (
    "NMBRS_SDK_BASE_URL",
    "NMBRS_SDK_TOKEN_URL",
    "NMBRS_SDK_CLIENT_ID",
    "NMBRS_SDK_CLIENT_SECRET",
    "NMBRS_SDK_SUBSCRIPTION_KEY",
    "NMBRS_SDK_REFRESH_TOKEN",
)


class Usage(Exception):
    """A problem of this script's input or of an answer's shape, not an SDK error."""


def settings() -> dict[str, str]:
    """The environment variables in ``ENV``; all are required."""
    missing = [name for name in ENV if not os.environ.get(name)]
    if missing:
        raise Usage(f"missing environment variable(s): {', '.join(missing)}")
    return {name: os.environ[name] for name in ENV}


def point_token_url_at(token_url: str) -> list[str]:
    """Monkeypatch the SDK's identity-server token endpoint.

    ``nmbrs_rest.auth.TOKEN_URL`` is a module constant read at call time. Any
    other ``nmbrs_rest`` module that captured the same value under any name (a
    ``from ... import TOKEN_URL``) is patched too, so the SDK can never reach
    the real identity server from a test. Returns the patched ``module.name``s.
    """
    original = nmbrs_rest.auth.TOKEN_URL
    patched = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "nmbrs_rest" or name.startswith("nmbrs_rest.")):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, str) and value == original:
                setattr(module, attr, token_url)
                patched.append(f"{name}.{attr}")
    if "nmbrs_rest.auth.TOKEN_URL" not in patched:
        raise Usage("could not patch nmbrs_rest.auth.TOKEN_URL")
    return sorted(patched)


def amsterdam_date(value: Any) -> str | None:
    """The Europe/Amsterdam calendar date (``YYYY-MM-DD``) of an API date-time.

    ``None`` stays ``None``. A date-time without an offset is taken as Dutch
    wall-clock time already. Python before 3.11 does not read a trailing ``Z``,
    so it is spelled as ``+00:00`` first.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise Usage(f"a date-time must be a string, got {value!r}")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Usage(f"not a date-time: {value!r}") from exc
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=AMSTERDAM)
    return instant.astimezone(AMSTERDAM).date().isoformat()


def birth_date_of(personal_info: Any) -> str | None:
    """``birthInfo.birthDate`` of a personal-info entry, as an Amsterdam calendar date."""
    if not isinstance(personal_info, dict):
        return None
    birth = personal_info.get("birthInfo")
    return amsterdam_date(birth.get("birthDate")) if isinstance(birth, dict) else None


def read(cfg: dict[str, str]) -> dict[str, Any]:
    """Everything the SDK reads, as one JSON-ready document."""
    patched = point_token_url_at(cfg["NMBRS_SDK_TOKEN_URL"])
    api = Nmbrs(
        cfg["NMBRS_SDK_CLIENT_ID"],
        cfg["NMBRS_SDK_CLIENT_SECRET"],
        cfg["NMBRS_SDK_SUBSCRIPTION_KEY"],
        refresh_token=cfg["NMBRS_SDK_REFRESH_TOKEN"],
        base_url=cfg["NMBRS_SDK_BASE_URL"],
        # A test wants the first error, not a retried one.
        max_retries=0,
        timeout=20.0,
    )
    with api:
        debtors = [
            {"id": d.id, "number": d.number, "name": d.name, "raw": d.raw}
            for d in api.debtors()
        ]
        companies = []
        for company in api.companies():
            employees = []
            for employee in company.employees():
                details = employee.details()
                history = employee.personal_info()
                employees.append(
                    {
                        "id": employee.id,
                        "company_id": employee.company_id,
                        "employee_number": employee.employee_number,
                        "first_name": employee.first_name,
                        "last_name": employee.last_name,
                        "prefix": employee.prefix,
                        "initials": employee.initials,
                        "employee_type": employee.employee_type,
                        "full_name": employee.full_name,
                        "raw": employee.raw,
                        "details": details,
                        "birth_date_amsterdam": birth_date_of(details.get("personalInfo")),
                        "personal_info": history,
                        "personal_info_birth_dates_amsterdam": [
                            birth_date_of(entry) for entry in history
                        ],
                    }
                )
            companies.append(
                {
                    "id": company.id,
                    "number": company.number,
                    "name": company.name,
                    "debtor_id": company.debtor_id,
                    "raw": company.raw,
                    "employees": employees,
                }
            )
        return {
            "sdk": {"version": nmbrs_rest.__version__, "token_url_patched": patched},
            "debtors": debtors,
            "companies": companies,
        }


def main() -> int:
    try:
        document = read(settings())
    except NmbrsError as exc:
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        print(f"nmbrs-rest-api error: {kind}: {exc}", file=sys.stderr)
        return 1
    except Usage as exc:
        print(f"read_sandbox.py: {exc}", file=sys.stderr)
        return 2
    json.dump(document, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
