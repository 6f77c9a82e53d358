"""Compliance: what each supplier owes a buyer, when, and whether it is delivered.

- `rules/`: the pure decisions, with the articles of law they come from (no I/O, no project import);
- `models.py`: requirement states, checks, status events; `schemas.py`: the API's shapes;
- `context.py`: what the engine takes from the process (transactions, client, archive, queue);
- `planner.py`: what is due, from the database alone (rows, claims, leases);
- `fetch.py`: a requirement → API Entreprise calls → evidence; `checks.py`: fetch → archive → persist;
- `scheduling.py`: the tick, the planning passes, re-checks and the sweep; `tasks.py`: the jobs;
- `queries.py`: the read side; `router.py`: the API; `cli.py`: `vigie sweep` and `vigie check`.
"""
