"""The API reference's own examples (SalesQL API reference v2.31.0), copied verbatim.

Shared by the tests that check the OpenAPI document and the flatten step; the sandbox
keeps its own copy of the free profile, so neither side checks itself.
"""

from __future__ import annotations

import copy
from typing import Any

ALLOWANCE_EXAMPLE = {
    "credits": {
        "emails_and_phones": 100,
        "verifications": 50,
    },
    "reset_date": "2025-10-01T00:00:00Z",
}

ORGANIZATION_EXAMPLE = {
    "organization": {
        "uuid": "f705200f-fe17-4960-a0a9-3aea1022844c",
        "name": "Clarosys",
        "website": "https://www.clarosys.com",
        "website_domain": "clarosys.com",
        "linkedin_url": "https://linkedin.com/company/clarosys",
        "logo": "https://cdn.example.com/company/clarosys.png",
        "founded_year": 2012,
        "number_of_employees": "1 - 10",
        "type": "self-owned",
    }
}

REFERENCE_PERSON: dict[str, Any] = {
    "uuid": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "first_name": "Sandro",
    "last_name": "Carsava",
    "full_name": "Sandro Carsava",
    "linkedin_url": "https://linkedin.com/in/sandrocarsava",
    "title": "Head, Sales Solutions Latin America",
    "headline": "Head, Sales Solutions Latin America at LinkedIn",
    "emails": [
        {
            "email": "first.last@gmail.com",
            "type": "Direct",
            "status": "Valid",
        },
        {
            "email": "first.last@company.com",
            "type": "Work",
            "status": "Valid",
        },
    ],
    "phones": [
        {
            "phone": "+1 555-123-4567",
            "type": "Personal",
            "country_code": "US",
            "is_valid": True,
        },
        {
            "phone": "+1 555-987-6543",
            "type": "Work",
            "country_code": "US",
            "is_valid": True,
        },
    ],
    "organization": {
        "uuid": "9473d991-87ad-43f6-91ee-a42bb54898f4",
        "name": "LinkedIn",
        "website": "https://careers.linkedin.com",
        "website_domain": "linkedin.com",
        "linkedin_url": "https://linkedin.com/company/linkedin",
        "logo": "https://cdn.example.com/company/linkedin.png",
        "founded_year": 2003,
        "number_of_employees": "10001+",
        "type": "public",
    },
    "work_experience": [
        {
            "title": "Head, Sales Solutions Latin America",
            "timestamp_start": 1577836800000,
            "is_current": True,
            "organization": {
                "uuid": "9473d991-87ad-43f6-91ee-a42bb54898f4",
                "name": "LinkedIn",
                "website": "https://careers.linkedin.com",
                "website_domain": "linkedin.com",
                "linkedin_url": "https://linkedin.com/company/linkedin",
                "logo": "https://cdn.example.com/company/linkedin.png",
                "founded_year": 2003,
                "number_of_employees": "10001+",
                "type": "public",
            },
        },
        {
            "title": "Managing Partner",
            "timestamp_start": 1483228800000,
            "is_current": True,
            "organization": {
                "name": "NOXBE Ventures",
            },
        },
    ],
    "image": "https://cdn.example.com/person/sample-profile.png",
    "timestamp_work_experience_start": 978307200000,
}

PERSON_EXAMPLE = {"person": copy.deepcopy(REFERENCE_PERSON)}

BULK_PERSON_EXAMPLE = [
    copy.deepcopy(REFERENCE_PERSON),
    {
        "error": "Person not found",
    },
]

BULK_ORGANIZATION_EXAMPLE = [
    {
        "uuid": "f705200f-fe17-4960-a0a9-3aea10228448",
        "name": "SalesQL",
        "website": "https://www.salesql.com",
        "website_domain": "salesql.com",
        "linkedin_url": "https://linkedin.com/company/salesql",
        "founded_year": 2018,
        "number_of_employees": "1 - 10",
        "type": "self-owned",
    },
    {
        "error": "Organization not found",
    },
]

REFERENCE_ORGANIZATION: dict[str, Any] = BULK_ORGANIZATION_EXAMPLE[0]
