"""Word pools the synthetic data is drawn from (names, places, companies, titles)."""

from __future__ import annotations

from itertools import product
from typing import Final

FIRST_NAMES: Final = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
    "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
    "Thomas", "Sarah", "Daniel", "Karen", "Matthew", "Emily", "Anthony", "Olivia",
    "Mark", "Sophia", "Steven", "Emma", "Andrew", "Ava", "Kevin", "Mia",
    "Brian", "Isabella", "Ravi", "Priya", "Wei", "Mei", "Hiroshi", "Yuki",
    "Ahmed", "Fatima", "Olumide", "Amara", "Lars", "Ingrid", "Pierre", "Camille",
    "Hans", "Greta", "Luca", "Giulia", "Mateo", "Valentina", "Sandro", "Lucía",
    "José", "Zoë", "Chloé", "Renée", "François", "Søren", "Björn", "Łukasz",
    "Ana", "João", "Maël", "Anaïs", "Jürgen", "Dagný",
)
LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Green", "Baker", "Adams", "Nelson", "Patel", "Sharma", "Chen", "Wang",
    "Tanaka", "Suzuki", "Okafor", "Haddad", "Larsen", "Nilsson", "Dubois", "Moreau",
    "Schneider", "Fischer", "Rossi", "Bianchi", "Silva", "Santos", "O'Brien", "Carsava",
    "Núñez", "García", "Müller", "Østergaard", "Kowalczyk", "Gonçalves", "Çelik",
    "Đorđević", "Lindqvist", "Van der Berg",
)

#: (city, state, country, country_code); US entries repeat to weigh the draw.
LOCATIONS: Final = (
    ("San Francisco", "California", "United States", "US"),
    ("New York", "New York", "United States", "US"),
    ("Austin", "Texas", "United States", "US"),
    ("Chicago", "Illinois", "United States", "US"),
    ("Boston", "Massachusetts", "United States", "US"),
    ("Seattle", "Washington", "United States", "US"),
    ("Denver", "Colorado", "United States", "US"),
    ("Miami", "Florida", "United States", "US"),
    ("London", "England", "United Kingdom", "GB"),
    ("Manchester", "England", "United Kingdom", "GB"),
    ("Berlin", "Berlin", "Germany", "DE"),
    ("München", "Bavaria", "Germany", "DE"),
    ("Paris", "Île-de-France", "France", "FR"),
    ("Madrid", "Community of Madrid", "Spain", "ES"),
    ("Barcelona", "Catalonia", "Spain", "ES"),
    ("São Paulo", "São Paulo", "Brazil", "BR"),
    ("Ciudad de México", "Ciudad de México", "Mexico", "MX"),
    ("Bengaluru", "Karnataka", "India", "IN"),
    ("Toronto", "Ontario", "Canada", "CA"),
    ("Sydney", "New South Wales", "Australia", "AU"),
    ("Amsterdam", "North Holland", "Netherlands", "NL"),
    ("Milano", "Lombardy", "Italy", "IT"),
    ("Lima", "Lima", "Peru", "PE"),
    ("Buenos Aires", "Buenos Aires", "Argentina", "AR"),
)

#: Phone number patterns by country code; ``#`` is a random digit.
PHONE_PATTERNS: Final = {
    "US": "+1 ###-###-####",
    "CA": "+1 ###-###-####",
    "GB": "+44 20 #### ####",
    "DE": "+49 30 ########",
    "FR": "+33 1 ## ## ## ##",
    "ES": "+34 91 ### ## ##",
    "BR": "+55 11 9####-####",
    "MX": "+52 55 #### ####",
    "IN": "+91 ##### #####",
    "AU": "+61 2 #### ####",
    "NL": "+31 20 ### ####",
    "IT": "+39 02 #### ####",
    "PE": "+51 1 ### ####",
    "AR": "+54 11 ####-####",
}

TITLES: Final = (
    "Account Executive", "Senior Account Executive", "Sales Development Representative",
    "Business Development Manager", "Head of Sales", "VP of Sales", "Chief Revenue Officer",
    "Marketing Manager", "Head of Growth", "Chief Marketing Officer", "Product Manager",
    "Senior Product Manager", "Director of Product", "Software Engineer",
    "Senior Software Engineer", "Staff Engineer", "Engineering Manager", "CTO",
    "Data Scientist", "Data Analyst", "Recruiter", "Talent Acquisition Lead",
    "HR Business Partner", "Customer Success Manager", "Operations Manager", "COO",
    "Chief Executive Officer", "Founder", "Co-Founder", "Financial Controller", "CFO",
    "Procurement Specialist", "Solutions Architect", "Consultant", "Managing Partner",
    "Office Manager", "UX Designer", "Legal Counsel",
)

INDUSTRIES: Final = (
    "Software Development", "IT Services and IT Consulting", "Financial Services",
    "Hospital & Health Care", "Marketing Services", "Staffing and Recruiting",
    "Retail", "Manufacturing", "Real Estate", "Education", "Telecommunications",
    "Logistics and Supply Chain", "Construction", "Insurance", "Biotechnology",
    "Consumer Goods", "Venture Capital and Private Equity", "Media Production",
    "Automotive", "Renewable Energy",
)

EMPLOYEE_RANGES: Final = (
    "1 - 10", "11 - 50", "51 - 200", "201 - 500", "501 - 1000",
    "1001 - 5000", "5001 - 10000", "10001+",
)
EMPLOYEE_WEIGHTS: Final = (18, 27, 22, 12, 8, 7, 3, 3)

ORGANIZATION_TYPES: Final = (
    "privately held", "public", "self-owned", "self-employed", "partnership",
    "non-profit", "educational", "government agency",
)
ORGANIZATION_TYPE_WEIGHTS: Final = (50, 12, 15, 5, 6, 5, 4, 3)

PERSONAL_EMAIL_DOMAINS: Final = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me",
)

_PREFIXES: Final = (
    "Clar", "North", "Blue", "Vert", "Quant", "Bright", "Nova", "Apex", "Silver", "Terra",
    "Lumi", "Strato", "Hexa", "Orbi", "Cobalt", "Pine", "Zen", "Vivo", "Astra", "Kine",
    "Mera", "Pulse", "Sol", "Tide", "Vanta", "Ever", "Iron", "Helio", "Opti", "Cresta",
)
_SUFFIXES: Final = (
    "sys", "wind", "ly", "ify", "works", "labs", "soft", "gen", "ware", "io",
    "base", "point", "stack", "field", "logic", "metrics", "hub", "ion", "scale", "nexa",
)
_TLDS: Final = (".com", ".com", ".com", ".io", ".co", ".com", ".net", ".com")

#: Companies people work at: (name, domain, LinkedIn slug).
COMPANIES: Final = tuple(
    (prefix + suffix, f"{(prefix + suffix).lower()}{_TLDS[index % len(_TLDS)]}",
     (prefix + suffix).lower())
    for index, (prefix, suffix) in enumerate(product(_PREFIXES, _SUFFIXES))
)
