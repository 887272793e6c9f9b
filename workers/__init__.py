"""Background workers of TideGrid (placement engine; the Celery glue lives elsewhere)."""
