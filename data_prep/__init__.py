"""Converters from user files and public datasets to verl's RL parquet schema, with validation."""
