"""One module per CLI command. Each defines ``register(subparsers)`` that adds its parser and sets
``func`` (called with the parsed args, returning an exit code).
"""

COMMAND_MODULES = [
    "prompts",
    "generate",
    "score",
    "run",
    "fvd_stats",
    "weights",
    "attention",
    "leaderboard",
    "check",
    "demo",
    "import_vbench",
    "calibrate",
]
