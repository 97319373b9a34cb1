"""analytics: JSON cleaning, dataset statistics, record transforms, and an analysis prompt."""
