"""The catalogue the district generator draws from: names, places, grades and courses.

Plain data and the few pure functions that derive from it (the course catalogue, ASCII
slugs of names). The generator in :mod:`oneroster_client.testing.generator` decides what
to draw and in which order; changing a table here changes every generated district.
Grade codes follow the CEDS grade levels OneRoster 1.1 uses (``PK``, ``KG``, ``01`` ...).
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

ELEMENTARY_GRADES = ("PK", "KG", "01", "02", "03", "04", "05")
MIDDLE_GRADES = ("06", "07", "08")
HIGH_GRADES = ("09", "10", "11", "12")
ALL_GRADES = ELEMENTARY_GRADES + MIDDLE_GRADES + HIGH_GRADES
# Pre-K classes are smaller than a full grade cohort.
GRADE_WEIGHTS = {grade: (0.45 if grade == "PK" else 1.0) for grade in ALL_GRADES}
GRADE_AGE = {
    grade: (4 if grade == "PK" else 5 if grade == "KG" else int(grade) + 5) for grade in ALL_GRADES
}
GRADE_NAMES = {
    "PK": "Pre-Kindergarten",
    "KG": "Kindergarten",
    **{f"{n:02d}": f"Grade {n}" for n in range(1, 13)},
}
# Two digits for SCED-like prior-to-secondary codes ("510" + digits).
GRADE_DIGITS = {"PK": "97", "KG": "98", **{f"{n:02d}": f"{n:02d}" for n in range(1, 9)}}

LEVEL_GRADES = {
    "elementary": ELEMENTARY_GRADES,
    "middle": MIDDLE_GRADES,
    "high": HIGH_GRADES,
    "k8": ELEMENTARY_GRADES + MIDDLE_GRADES,
    "k12": ALL_GRADES,
}
LEVEL_SUFFIX = {
    "elementary": "Elementary School",
    "middle": "Middle School",
    "high": "High School",
    "k8": "K-8 School",
    "k12": "School",
}
CLASS_SIZE = {"elementary": 22, "middle": 26, "high": 28, "k8": 24, "k12": 24}

STATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("CA", "06", ("Los Angeles", "San José", "Fresno", "Sacramento", "Oakland")),
    ("TX", "48", ("Houston", "San Antonio", "El Paso", "Austin", "Dallas")),
    ("WA", "53", ("Seattle", "Spokane", "Tacoma", "Yakima")),
    ("IL", "17", ("Chicago", "Aurora", "Rockford", "Joliet")),
    ("MN", "27", ("Minneapolis", "Saint Paul", "Rochester", "Duluth")),
    ("AZ", "04", ("Phoenix", "Tucson", "Mesa", "Flagstaff")),
    ("NY", "36", ("New York", "Buffalo", "Rochester", "Syracuse")),
    ("GA", "13", ("Atlanta", "Savannah", "Augusta", "Macon")),
)
FOREIGN_BIRTH: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MX", ("Ciudad de México", "Guadalajara", "Monterrey", "Puebla")),
    ("VN", ("Hà Nội", "Thành phố Hồ Chí Minh", "Đà Nẵng")),
    ("IN", ("Mumbai", "Bengaluru", "Chennai", "Hyderabad")),
    ("CN", ("Guangzhou", "Shanghai", "Chengdu")),
    ("PH", ("Quezon City", "Cebu City", "Davao City")),
    ("SV", ("San Salvador", "Santa Ana")),
    ("GT", ("Guatemala City", "Quetzaltenango")),
    ("SO", ("Mogadishu", "Hargeisa")),
    ("UA", ("Kyiv", "Lviv", "Kharkiv")),
    ("KR", ("Seoul", "Busan")),
)
PLACES = (
    "Maple Valley", "Riverside", "Cedar Falls", "Lakewood", "Pine Ridge", "Harbor City",
    "Silver Creek", "Fairview", "Brookhaven", "Mesa Verde", "Prairie View", "Eastwood",
)  # fmt: skip
DISTRICT_SUFFIXES = ("Unified School District", "Public Schools", "School District")
SCHOOL_NAMESAKES = (
    "César Chávez", "Sally Ride", "Roberto Clemente", "Maya Angelou", "Sojourner Truth",
    "Thurgood Marshall", "Dolores Huerta", "Frederick Douglass", "Rosa Parks",
    "Jackie Robinson", "Amelia Earhart", "George Washington Carver", "Sequoyah",
    "Patsy Mink", "Fred Korematsu", "Sonia Sotomayor", "Mae Jemison", "Harriet Tubman",
    "John Muir", "Ellen Ochoa", "Katherine Johnson", "Benjamin Franklin", "Abraham Lincoln",
    "Eleanor Roosevelt", "Langston Hughes", "Grace Hopper", "Wilma Mankiller",
    "Duke Kahanamoku", "Jim Thorpe", "Chien-Shiung Wu",
)  # fmt: skip
SCHOOL_PLACE_HEADS = (
    "Oak", "Maple", "Cedar", "Willow", "Pine", "Aspen", "Birch", "Sycamore", "Juniper",
    "Magnolia", "Sunset", "Lakeview", "Riverbend", "Hillcrest", "Meadow", "Eagle", "Falcon",
    "Canyon", "Prairie", "Harbor",
)  # fmt: skip
SCHOOL_PLACE_TAILS = (
    "Grove", "Ridge", "Park", "Creek", "Hill", "Valley", "Heights", "Point", "Springs", "Glen",
)  # fmt: skip

FEMALE_NAMES = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Ella", "Zoë", "Chloé", "Renée", "Siobhán", "Sofía", "María",
    "Lucía", "Valentina", "Camila", "Ximena", "Guadalupe", "Mai", "Linh", "Ngọc", "Thảo",
    "Aaliyah", "Imani", "Nia", "Amara", "Chiamaka", "Fatima", "Aisha", "Mariam", "Layla",
    "Yasmin", "Priya", "Ananya", "Saanvi", "Mei", "Yuna", "Ji-woo", "Seo-yeon", "Hana",
    "Sakura", "Anastasia", "Zofia", "Agnieszka", "Ingrid", "Astrid", "Freya", "Leilani",
    "Nizhoni", "Aiyana", "Hannah", "Grace", "Lily", "Madison", "Natalie", "Claire",
    "Penelope", "Rosa", "Ana", "Beatriz", "Inés", "Gabriela", "Elena", "Noor", "Zainab",
    "Aurora", "Esther", "Miriam", "Rachel", "Anne-Marie", "Hélène", "Dagný",
)  # fmt: skip
MALE_NAMES = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Mason", "Ethan", "Daniel", "Matthew", "José", "Juan", "Luis", "Carlos",
    "Miguel", "Diego", "Mateo", "Santiago", "Alejandro", "Jesús", "Ángel", "Andrés", "Minh",
    "Huy", "Quang", "Đức", "Tuấn", "Jamal", "Malik", "DeShawn", "Darnell", "Kwame",
    "Chinedu", "Oluwaseun", "Mohammed", "Omar", "Ahmed", "Yusuf", "Ali", "Arjun", "Rohan",
    "Aarav", "Wei", "Jun", "Hiroshi", "Kenji", "Haruto", "Min-jun", "Seo-jun", "Dmitri",
    "Ivan", "Mikhail", "Łukasz", "Piotr", "Björn", "Søren", "Lars", "Émile", "François",
    "Jean-Luc", "Théo", "Rafael", "João", "Kai", "Keoni", "Ahanu", "Michael", "David",
    "Joseph", "Samuel", "Jacob", "Caleb", "Isaac", "Nathan", "Ryan", "Patrick", "Connor",
    "Finn", "Ömer", "Zoltán",
)  # fmt: skip
FAMILY_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts",
    "Campbell", "Evans", "Turner", "García", "Martínez", "Rodríguez", "Hernández", "López",
    "González", "Pérez", "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez",
    "Díaz", "Cruz", "Morales", "Ortiz", "Gutiérrez", "Reyes", "Jiménez", "Álvarez",
    "Muñoz", "Núñez", "Peña", "Castillo", "Vargas", "Romero", "Silva", "Santos", "Oliveira",
    "Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Đặng", "Kim", "Park", "Lee", "Choi", "Wang",
    "Li", "Zhang", "Chen", "Liu", "Huang", "Patel", "Shah", "Singh", "Kumar", "Gupta",
    "Reddy", "Nakamura", "Tanaka", "Sato", "Suzuki", "Ivanov", "Petrov", "Kowalski",
    "Wiśniewski", "Dvořák", "Müller", "Schröder", "Çelik", "Yılmaz", "Haddad", "Khalil",  # noqa: RUF001
    "Hassan", "Ahmed", "Farah", "Abdi", "Mohamed", "Okafor", "Adeyemi", "Mensah", "Begay",
    "Yazzie", "Tsosie", "Kealoha", "Goldberg", "Cohen", "Murphy", "O'Brien", "O'Connor",
    "Sullivan", "Kelly", "Walsh", "MacDonald", "D'Angelo", "de la Cruz", "Van der Berg",
    "García-López", "Smith-Jones", "St. Pierre", "Lindqvist", "Johansson", "Ødegaard",
)  # fmt: skip
COMMENTS = (
    "Great work!",
    "Excellent effort — keep it up.",
    "Please see me about corrections.",
    "Late submission, 10% deducted.",
    "Missing work: please turn in by Friday.",
    "¡Excelente trabajo!",
    "Show your reasoning on each step.",
    "Retake available during office hours.",
)
TOPICS = {
    "English Language Arts": ("Narrative Writing", "Poetry", "Main Idea", "Argument Essay"),
    "Mathematics": ("Fractions", "Linear Equations", "Ratios", "Geometry Proofs"),
    "Science": ("Ecosystems", "Forces and Motion", "The Cell", "Chemical Reactions"),
    "Social Studies": ("Ancient Civilizations", "The Constitution", "Map Skills", "Economics"),
}
GENERIC_TOPICS = ("Unit 1", "Unit 2", "Unit 3", "Review", "Midterm", "Final")

# (title, weight) of the district's line item categories.
CATEGORIES = (
    ("Homework", 30),
    ("Classwork", 20),
    ("Quiz", 20),
    ("Test", 12),
    ("Project", 8),
    ("Participation", 5),
    ("Lab", 5),
)
SCORE_MAXIMA = (100.0, 10.0, 20.0, 50.0)
SCORE_MAXIMA_WEIGHTS = (70, 10, 10, 10)

# (title, subject or None for class-level only, roles, importance, vendor)
RESOURCES = (
    ("Fraction Frenzy Practice", "Mathematics", ("student", "teacher"), "primary", "NUMB"),
    ("Algebra Tiles Interactive", "Mathematics", ("student",), "secondary", "NUMB"),
    ("Open Library Reader", "English Language Arts", ("student", "teacher"), "primary", "OPLB"),
    ("Virtual Lab Bench", "Science", ("student", "teacher"), "primary", "VLAB"),
    ("Primary Source Explorer", "Social Studies", ("student",), "secondary", "HIST"),
    ("¡Hablemos! Spanish Audio", "World Languages", ("student",), "primary", "HABL"),
    ("Code Studio Sandbox", "Computer Science", ("student", "teacher"), "primary", "CODE"),
    ("Teacher Answer Keys", None, ("teacher",), "secondary", "NUMB"),
)


class CourseSpec(NamedTuple):
    code: str
    title: str
    subject: str
    sced: str
    grades: tuple[str, ...]
    kind: str  # "homeroom", "core" or "elective"


def _elementary_courses() -> list[CourseSpec]:
    """Homeroom and the four core subjects, one course per elementary grade."""
    specs: list[CourseSpec] = []
    for grade in ELEMENTARY_GRADES:
        name, digits = GRADE_NAMES[grade], GRADE_DIGITS[grade]
        specs += [
            CourseSpec(
                f"HR-{grade}", f"{name} Homeroom", "Homeroom", f"720{digits}", (grade,), "homeroom"
            ),
            CourseSpec(
                f"ELA-{grade}",
                f"{name} English Language Arts",
                "English Language Arts",
                f"510{digits}",
                (grade,),
                "core",
            ),
            CourseSpec(
                f"MATH-{grade}",
                f"{name} Mathematics",
                "Mathematics",
                f"520{digits}",
                (grade,),
                "core",
            ),
            CourseSpec(
                f"SCI-{grade}", f"{name} Science", "Science", f"530{digits}", (grade,), "core"
            ),
            CourseSpec(
                f"SS-{grade}",
                f"{name} Social Studies",
                "Social Studies",
                f"540{digits}",
                (grade,),
                "core",
            ),
        ]
    return specs


_MIDDLE_TITLES = {
    "06": ("Mathematics 6", "Earth Science", "World Geography"),
    "07": ("Mathematics 7", "Life Science", "World History"),
    "08": ("Pre-Algebra", "Physical Science", "U.S. History"),
}


def _middle_courses() -> list[CourseSpec]:
    """The four core subjects, one course per middle-school grade."""
    specs: list[CourseSpec] = []
    for grade, (math_title, science, social) in _MIDDLE_TITLES.items():
        digits = GRADE_DIGITS[grade]
        specs += [
            CourseSpec(
                f"ELA-{grade}",
                f"English Language Arts {int(grade)}",
                "English Language Arts",
                f"510{digits}",
                (grade,),
                "core",
            ),
            CourseSpec(
                f"MATH-{grade}", math_title, "Mathematics", f"520{digits}", (grade,), "core"
            ),
            CourseSpec(f"SCI-{grade}", science, "Science", f"530{digits}", (grade,), "core"),
            CourseSpec(f"SS-{grade}", social, "Social Studies", f"540{digits}", (grade,), "core"),
        ]
    return specs


_HIGH_CORE = {
    "09": (
        ("ENG9", "English 9", "01001"),
        ("ALG1", "Algebra I", "02052"),
        ("BIO", "Biology", "03051"),
        ("WHIST", "World History", "04051"),
    ),
    "10": (
        ("ENG10", "English 10", "01002"),
        ("GEOM", "Geometry", "02072"),
        ("CHEM", "Chemistry", "03101"),
        ("WGEO", "World Geography", "04001"),
    ),
    "11": (
        ("ENG11", "English 11", "01003"),
        ("ALG2", "Algebra II", "02056"),
        ("PHYS", "Physics", "03151"),
        ("USHIST", "U.S. History", "04101"),
    ),
    "12": (
        ("ENG12", "English 12", "01004"),
        ("PRECALC", "Precalculus", "02110"),
        ("ENVSCI", "Environmental Science", "03003"),
        ("GOV", "U.S. Government", "04151"),
    ),
}
_CORE_SUBJECTS = ("English Language Arts", "Mathematics", "Science", "Social Studies")


def _high_courses() -> list[CourseSpec]:
    """The four core subjects, one course per high-school grade (SCED codes)."""
    specs: list[CourseSpec] = []
    for grade, rows in _HIGH_CORE.items():
        for (code, title, sced), subject in zip(rows, _CORE_SUBJECTS, strict=True):
            specs.append(CourseSpec(code, title, subject, sced, (grade,), "core"))
    return specs


_ELECTIVES = (
    (
        ELEMENTARY_GRADES,
        (
            ("ART-E", "Art", "Fine Arts", "55030"),
            ("MUS-E", "General Music", "Fine Arts", "55060"),
            ("PE-E", "Physical Education", "Physical Education", "58030"),
            ("HLTH-E", "Health", "Health", "58050"),
            ("LIB-E", "Library Media", "Library Media", "72100"),
            ("TECH-E", "Computer Technology", "Computer Science", "60030"),
            ("SPAN-E", "Spanish Exploration", "World Languages", "56030"),
        ),
    ),
    (
        MIDDLE_GRADES,
        (
            ("PE-M", "Physical Education", "Physical Education", "58031"),
            ("ART-M", "Art", "Fine Arts", "55031"),
            ("BAND-M", "Band", "Fine Arts", "55061"),
            ("CHOIR-M", "Choir", "Fine Arts", "55062"),
            ("SPAN-M", "Spanish I", "World Languages", "56101"),
            ("FREN-M", "French I", "World Languages", "56201"),
            ("CSD-M", "Computer Science Discoveries", "Computer Science", "60031"),
            ("HLTH-M", "Health", "Health", "58051"),
            ("TECH-M", "Technology Education", "Career and Technical Education", "61031"),
            ("THTR-M", "Theater", "Fine Arts", "55051"),
        ),
    ),
    (
        HIGH_GRADES,
        (
            ("PE", "Physical Education", "Physical Education", "08001"),
            ("HLTH", "Health", "Health", "08051"),
            ("SPAN1", "Spanish I", "World Languages", "06101"),
            ("SPAN2", "Spanish II", "World Languages", "06102"),
            ("FREN1", "French I", "World Languages", "06201"),
            ("CHIN1", "Mandarin Chinese I", "World Languages", "06401"),
            ("ART1", "Art I", "Fine Arts", "05154"),
            ("BAND", "Concert Band", "Fine Arts", "05101"),
            ("CHOIR", "Choir", "Fine Arts", "05110"),
            ("APCSP", "AP Computer Science Principles", "Computer Science", "10019"),
            ("PSYCH", "Psychology", "Social Studies", "04254"),
            ("JOURN", "Journalism", "English Language Arts", "11101"),
            ("CULIN", "Culinary Arts I", "Career and Technical Education", "16052"),
            ("BUS", "Introduction to Business", "Career and Technical Education", "12001"),
        ),
    ),
)


def _elective_courses() -> list[CourseSpec]:
    """Electives offered to every grade of a band."""
    specs: list[CourseSpec] = []
    for grades, offered in _ELECTIVES:
        for code, title, subject, sced in offered:
            specs.append(CourseSpec(code, title, subject, sced, grades, "elective"))
    return specs


def catalogue() -> tuple[CourseSpec, ...]:
    """The district course catalogue; each school offers the courses of its grades."""
    return (
        *_elementary_courses(),
        *_middle_courses(),
        *_high_courses(),
        *_elective_courses(),
    )


CATALOGUE = catalogue()

# Characters NFKD does not decompose into ASCII.
ASCII_FOLD = str.maketrans(
    {
        "đ": "d",
        "Đ": "D",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ı": "i",  # noqa: RUF001
    }
)


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits of a name, for usernames and e-mail addresses."""
    folded = unicodedata.normalize("NFKD", text.translate(ASCII_FOLD))
    return "".join(ch for ch in folded.lower() if ch.isascii() and ch.isalnum()) or "user"


SLUGS = {name: slug(name) for name in FEMALE_NAMES + MALE_NAMES + FAMILY_NAMES}
