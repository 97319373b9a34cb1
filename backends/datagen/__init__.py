"""datagen: sample datasets as resources (CSV and JSON, random or seeded), and generated datasets."""
