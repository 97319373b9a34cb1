"""What a fresh lookup database starts with: ten users and a small library of documents."""

from __future__ import annotations

from typing import Any

from backends.lookup.records import SeedDocument

USERS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "team": "research",
        "role": "lead",
        "created_at": "2025-01-10",
    },
    {
        "id": 2,
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "team": "platform",
        "role": "engineer",
        "created_at": "2025-02-03",
    },
    {
        "id": 3,
        "name": "Alan Turing",
        "email": "alan@example.com",
        "team": "research",
        "role": "scientist",
        "created_at": "2025-02-17",
    },
    {
        "id": 4,
        "name": "Katherine Johnson",
        "email": "katherine@example.com",
        "team": "analytics",
        "role": "analyst",
        "created_at": "2025-03-01",
    },
    {
        "id": 5,
        "name": "Edsger Dijkstra",
        "email": "edsger@example.com",
        "team": "platform",
        "role": "architect",
        "created_at": "2025-03-22",
    },
    {
        "id": 6,
        "name": "Barbara Liskov",
        "email": "barbara@example.com",
        "team": "platform",
        "role": "engineer",
        "created_at": "2025-04-05",
    },
    {
        "id": 7,
        "name": "Claude Shannon",
        "email": "claude@example.com",
        "team": "research",
        "role": "scientist",
        "created_at": "2025-05-12",
    },
    {
        "id": 8,
        "name": "Margaret Hamilton",
        "email": "margaret@example.com",
        "team": "reliability",
        "role": "lead",
        "created_at": "2025-06-30",
    },
    {
        "id": 9,
        "name": "John von Neumann",
        "email": "john@example.com",
        "team": "analytics",
        "role": "analyst",
        "created_at": "2025-07-14",
    },
    {
        "id": 10,
        "name": "Frances Allen",
        "email": "frances@example.com",
        "team": "compilers",
        "role": "engineer",
        "created_at": "2025-08-08",
    },
]

_DOCUMENTS: list[tuple[str, str]] = [
    (
        "cycling",
        "Repairing a punctured bike wheel: remove the inner tube, find the hole, patch it and reinflate.",
    ),
    (
        "cooking",
        "Bake bread at home: knead flour, water, salt and yeast, let the dough rise, then bake it hot.",
    ),
    ("finance", "Equity prices tumbled on Wall Street after the central bank raised interest rates again."),
    ("gardening", "Tomato plants need full sun, regular watering at the roots and a stake to climb."),
    ("health", "Getting enough sleep each night improves memory, mood and the immune system."),
    (
        "travel",
        "Renew a passport before it expires: fill in the application, attach a photo and pay the fee.",
    ),
    (
        "pets",
        "Puppies should be house-trained with praise and treats right after they relieve themselves outside.",
    ),
    (
        "astronomy",
        "A solar eclipse happens when the Moon passes between the Earth and the Sun and blocks its light.",
    ),
    (
        "computing",
        "Restarting a frozen laptop: hold the power button for ten seconds, then switch it back on.",
    ),
    ("weather", "Thunderstorms form when warm humid air rises quickly and condenses into towering clouds."),
    ("fitness", "Jogging three times a week strengthens the heart and lowers blood pressure."),
    ("music", "Tuning a guitar: match each string's pitch to a reference note, adjusting the pegs slowly."),
    (
        "home",
        "A dripping faucet usually needs a new washer; shut off the supply valve before taking it apart.",
    ),
    (
        "language",
        "Learning Spanish vocabulary sticks better with spaced repetition flashcards reviewed daily.",
    ),
    (
        "cars",
        "Change engine oil every five thousand miles to keep the motor lubricated and running smoothly.",
    ),
    ("history", "The Roman Empire built aqueducts that carried water across valleys into its cities."),
    (
        "biology",
        "Photosynthesis lets green leaves turn sunlight, carbon dioxide and water into sugar and oxygen.",
    ),
    (
        "cooking",
        "Brewing coffee in a French press: coarse grounds, hot water, four minutes, then press the plunger.",
    ),
    ("security", "Use a long unique password for every account and store them in a password manager."),
    ("finance", "Put aside part of every paycheck into a savings account to build an emergency fund."),
    ("parenting", "Toddlers throw tantrums when tired or hungry; stay calm and offer a simple choice."),
    ("office", "Keep meetings short: share an agenda beforehand and end with clear owners for each action."),
    ("geography", "Mount Everest, on the border of Nepal and Tibet, is the highest peak above sea level."),
    ("energy", "Solar panels convert daylight into electricity that can power a house or charge a battery."),
    (
        "medicine",
        "Aspirin relieves headaches and reduces fever by blocking the production of prostaglandins.",
    ),
    (
        "oceans",
        "Coral reefs are bleaching as seas warm, and the algae that feed the coral leave their hosts.",
    ),
    (
        "sports",
        "In football, a penalty kick is awarded for a foul inside the box and taken from eleven metres.",
    ),
    ("photography", "A wide aperture blurs the background and lets more light reach the camera sensor."),
    (
        "housekeeping",
        "Remove red wine from a carpet by blotting, then applying salt or a mix of dish soap and vinegar.",
    ),
    ("moving", "When relocating, label every box by room and pack an overnight bag with essentials."),
    ("nutrition", "Spinach, lentils and red meat are rich in iron, which carries oxygen in the blood."),
    ("programming", "A Python list comprehension builds a new list from an iterable in a single expression."),
    (
        "databases",
        "An index on a column lets the database find matching rows without scanning the whole table.",
    ),
    (
        "networking",
        "A router forwards packets between networks using the destination address of each packet.",
    ),
    ("careers", "Prepare for a job interview by researching the company and rehearsing answers aloud."),
    ("sleep", "Insomnia sufferers should avoid screens before bed and keep a regular wake-up time."),
    ("wildlife", "Bees pollinate crops as they gather nectar, carrying pollen from flower to flower."),
    (
        "chemistry",
        "Water boils at one hundred degrees Celsius at sea level and at lower temperatures in mountains.",
    ),
    ("driving", "Winter tyres grip icy roads better because their rubber stays soft in the cold."),
    ("art", "Watercolour painting works from light to dark, letting the white paper show through."),
    ("finance", "Compound interest means earnings are reinvested, so savings grow faster over many years."),
    ("health", "Wash hands with soap for twenty seconds to remove germs before eating."),
]

DOCUMENTS: list[SeedDocument] = [
    SeedDocument(text, {"topic": topic, "source": "seed"}) for topic, text in _DOCUMENTS
]
