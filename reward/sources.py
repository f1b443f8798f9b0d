"""The data_source names our reward registry is documented to score (see README, "Rewards")."""

BUILTIN_SOURCES = ("math_reasoning", "gsm8k", "math", "code", "code_generation", "qa", "trivia", "classification")
