"""Data tools: synthetic Q-commerce data, masked copies, the PII audit and schema parity.

Every module imports SQLAlchemy, Faker, PyYAML and pyarrow inside the functions that need
them, so `qgate --help` never pays for them.

- `pii`: PII patterns (emails, Indian mobiles, cards, PAN, Aadhaar, UPI) and the scrubber;
- `providers`, `spec`, `generate`: Faker providers, dataset specs, the generator;
- `rules`, `transforms`, `masking`: masking rules, transformers, the masking copy;
- `audit`, `parity`: the PII/integrity audit and the schema diff;
- `dburl`, `bulk`, `progress`: database URLs and engines, fast batch I/O, progress lines;
- `settings`: the `[data]` table of an environment; `command`: `qgate data ...`.
"""
