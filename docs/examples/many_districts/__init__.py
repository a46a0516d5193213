"""Rostering many districts into Buzz with Celery, one task per district."""
