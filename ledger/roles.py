"""PostgreSQL roles for least privilege (R21): what each process may do, enforced by the server.

``ledger admin roles`` runs `grant_roles` as the schema's owner, after the tables exist:

* ``ledger_writer``: appends events, writes the views, the key table and the trail.
  It holds UPDATE on the events table only because ``LOCK TABLE ... IN EXCLUSIVE
  MODE`` (eventsourcing's insert) requires it; the trigger refuses every UPDATE.
* ``ledger_reader``: reads the views.
* ``ledger_auditor``: reads the events and the views; writes none of them. It may
  append to the trail (and count a repeated refusal), since its own audit reads must
  be recorded in the store.

The events table refuses UPDATE, DELETE and TRUNCATE for every role but its owner:
by privileges, and by a trigger that holds even for roles granted more later.
Everything is idempotent: run it again after an upgrade adds tables.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ledger.errors import ConfigurationError, InvalidInput
from ledger.projections.sql import KEPT_TABLES, TABLES
from ledger.stores import Store

__all__ = ["READER", "ROLES", "WRITER", "AUDITOR", "grant_roles"]

WRITER, READER, AUDITOR = "ledger_writer", "ledger_reader", "ledger_auditor"
ROLES = (WRITER, READER, AUDITOR)
EVENTS = "ledger_events"
TRAIL = "ledger_trail"
_VIEW_TABLES = (*TABLES, *KEPT_TABLES, "ledger_views_tracking")
# Serialises role creation: roles are cluster-wide, and two runs may race.
_ROLES_LOCK_ID = 0x1ED6E3

_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION {schema}.ledger_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> (SELECT tableowner FROM pg_tables
                        WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME) THEN
        RAISE EXCEPTION 'the ledger''s events are append-only: % refused for role %',
            TG_OP, current_user USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$
"""


def grant_roles(store: Store) -> list[str]:
    """Create the roles if missing and grant them on ``store``'s schema; what was done."""
    if store.kind != "postgres" or store.postgres_dsn is None:
        raise InvalidInput("url", "roles are PostgreSQL's: give a postgresql:// URL")
    schema = sql.Identifier(store.postgres_schema)
    done: list[str] = []
    try:
        with psycopg.connect(
            store.postgres_dsn,
            autocommit=True,
            connect_timeout=store.connect_timeout,
            options=store.postgres_options,
        ) as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ROLES_LOCK_ID,))
                for role in ROLES:
                    if conn.execute(
                        "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                    ).fetchone():
                        continue
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                    done.append(f"created role {role}")
            with conn.transaction():
                for statement in _grants(schema):
                    conn.execute(statement)
                done.append(f"granted {', '.join(ROLES)} on schema {store.postgres_schema}")
                _append_only(conn, schema)
                done.append(f"{EVENTS} refuses UPDATE, DELETE and TRUNCATE but by its owner")
    except psycopg.errors.InsufficientPrivilege as error:
        raise ConfigurationError(
            f"cannot set up the roles: {error}".strip()
            + " (run `ledger admin roles` as the schema's owner, with CREATEROLE)"
        ) from error
    except psycopg.Error as error:
        raise ConfigurationError(f"cannot set up the roles: {error}".strip()) from error
    return done


def _grants(schema: sql.Identifier) -> list[sql.Composed]:
    events = sql.SQL("{}.{}").format(schema, sql.Identifier(EVENTS))
    trail = sql.SQL("{}.{}").format(schema, sql.Identifier(TRAIL))
    writer, reader, auditor = (sql.Identifier(role) for role in ROLES)
    every = sql.SQL(", ").join([writer, reader, auditor])
    return [
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, every),
        # writer: everything but changing or removing events.
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            schema, writer
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, writer),
        sql.SQL("REVOKE DELETE, TRUNCATE ON {} FROM {}").format(events, every),
        sql.SQL("REVOKE DELETE, TRUNCATE ON {} FROM PUBLIC").format(events),
        # auditor: reads everything, writes only its own trail rows.
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, auditor),
        sql.SQL(
            "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {} FROM {}"
        ).format(schema, auditor),
        sql.SQL("GRANT INSERT, UPDATE (count, last_at) ON {} TO {}").format(trail, auditor),
        sql.SQL("GRANT USAGE ON SEQUENCE {}.{} TO {}").format(
            schema, sql.Identifier(f"{TRAIL}_position_seq"), auditor
        ),
        # reader: the views (every table but the events, the keys and the trail).
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, reader),
        *(
            sql.SQL("GRANT SELECT ON {}.{} TO {}").format(schema, sql.Identifier(table), reader)
            for table in _VIEW_TABLES
        ),
    ]


def _append_only(conn: psycopg.Connection[object], schema: sql.Identifier) -> None:
    events = sql.SQL("{}.{}").format(schema, sql.Identifier(EVENTS))
    conn.execute(sql.SQL(_APPEND_ONLY).format(schema=schema))
    function = sql.SQL("{}.ledger_events_append_only()").format(schema)
    for name, timing in (
        ("ledger_events_no_change", "BEFORE UPDATE OR DELETE ON {} FOR EACH ROW"),
        ("ledger_events_no_truncate", "BEFORE TRUNCATE ON {} FOR EACH STATEMENT"),
    ):
        conn.execute(
            sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(name), events)
        )
        conn.execute(
            sql.SQL("CREATE TRIGGER {} " + timing + " EXECUTE FUNCTION {}").format(
                sql.Identifier(name), events, function
            )
        )
