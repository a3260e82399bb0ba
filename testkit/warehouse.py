"""Small warehouses for the sync's tests and bench: Salesforce and HubSpot tables as Fivetran lands them.

``salesforce`` schema (PostgreSQL or DuckDB): ``"user"``, ``account`` (with a ``csm__c`` custom field
naming the CSM's user id), ``opportunity``. ``hubspot`` schema: ``owner``, ``company``, ``deal``,
``deal_company``. The queries that read them are the documented examples,
docs/examples/sync-salesforce.toml and docs/examples/sync-hubspot.toml.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

SALESFORCE_DDL = [
    "CREATE SCHEMA IF NOT EXISTS salesforce",
    'DROP TABLE IF EXISTS salesforce."user"',
    """CREATE TABLE salesforce."user" (
        id VARCHAR(18) PRIMARY KEY, email VARCHAR(128), first_name VARCHAR(40), last_name VARCHAR(80),
        department VARCHAR(80), manager_id VARCHAR(18), time_zone_sid_key VARCHAR(40),
        is_active BOOLEAN, _fivetran_deleted BOOLEAN)""",
    "DROP TABLE IF EXISTS salesforce.account",
    """CREATE TABLE salesforce.account (
        id VARCHAR(18) PRIMARY KEY, name VARCHAR(255), website VARCHAR(255), type VARCHAR(40),
        industry VARCHAR(40), number_of_employees INTEGER, owner_id VARCHAR(18), csm__c VARCHAR(18),
        is_deleted BOOLEAN, _fivetran_deleted BOOLEAN)""",
    "DROP TABLE IF EXISTS salesforce.opportunity",
    """CREATE TABLE salesforce.opportunity (
        id VARCHAR(18) PRIMARY KEY, account_id VARCHAR(18), name VARCHAR(120), stage_name VARCHAR(40),
        amount NUMERIC(18, 2), close_date DATE, is_won BOOLEAN, is_closed BOOLEAN, type VARCHAR(40),
        owner_id VARCHAR(18), is_deleted BOOLEAN, _fivetran_deleted BOOLEAN)""",
]

SALESFORCE_ROWS = [
    """INSERT INTO salesforce."user" VALUES
        ('0055e000001BeaA', 'bea@saas.example', 'Bea', 'Boss', 'Leadership', NULL, 'America/New_York',
         true, false),
        ('0055e000001AnaA', 'ana@saas.example', 'Ana', 'Lima', 'Customer Success', '0055e000001BeaA',
         'Europe/Berlin', true, false),
        ('0055e000001BobA', 'bob@saas.example', 'Bob', 'Ng', 'Sales', '0055e000001BeaA',
         'America/Los_Angeles', true, false),
        ('0055e000001OldA', 'old@saas.example', 'Old', 'Timer', 'Sales', NULL, 'UTC', false, false)""",
    """INSERT INTO salesforce.account VALUES
        ('0015e00000AcmeA', 'Acme Corp', 'https://www.acme.com', 'Customer - Direct', 'Manufacturing',
         1500, '0055e000001BobA', '0055e000001AnaA', false, false),
        ('0015e00000GlobA', 'Globex', 'globex.com', 'Prospect', 'Energy', 300, '0055e000001BobA', NULL,
         false, false),
        ('0015e00000InitA', 'Initech', NULL, 'Customer - Channel', 'Software', 40, '0055e000001BobA',
         '0055e000001AnaA', false, false),
        ('0015e00000GoneA', 'Gone Ltd', 'gone.example', 'Prospect', NULL, 10, '0055e000001BobA', NULL,
         true, false)""",
    """INSERT INTO salesforce.opportunity VALUES
        ('0065e00000Acm1A', '0015e00000AcmeA', 'Acme - new business', 'Closed Won', 120000.00,
         DATE '2026-01-15', true, true, 'New Business', '0055e000001BobA', false, false),
        ('0065e00000Acm2A', '0015e00000AcmeA', 'Acme - 200 more seats', 'Closed Won', 24000.00,
         DATE '2026-07-10', true, true, 'Existing Business', '0055e000001BobA', false, false),
        ('0065e00000Glo1A', '0015e00000GlobA', 'Globex - pilot', 'Closed Lost', 50000.00,
         DATE '2026-05-02', false, true, 'New Business', '0055e000001BobA', false, false),
        ('0065e00000Ini1A', '0015e00000InitA', 'Initech - starter', 'Closed Won', 6000.00,
         DATE '2026-03-31', true, true, 'New Business', '0055e000001BobA', false, false)""",
]

HUBSPOT_DDL = [
    "CREATE SCHEMA IF NOT EXISTS hubspot",
    "DROP TABLE IF EXISTS hubspot.owner",
    """CREATE TABLE hubspot.owner (
        owner_id BIGINT PRIMARY KEY, email VARCHAR, first_name VARCHAR, last_name VARCHAR,
        is_active BOOLEAN, _fivetran_deleted BOOLEAN)""",
    "DROP TABLE IF EXISTS hubspot.company",
    """CREATE TABLE hubspot.company (
        id BIGINT PRIMARY KEY, property_name VARCHAR, property_domain VARCHAR,
        property_numberofemployees BIGINT, property_hubspot_owner_id BIGINT,
        property_lifecyclestage VARCHAR, property_industry VARCHAR, is_deleted BOOLEAN,
        _fivetran_deleted BOOLEAN)""",
    "DROP TABLE IF EXISTS hubspot.deal",
    """CREATE TABLE hubspot.deal (
        deal_id BIGINT PRIMARY KEY, property_dealname VARCHAR, property_amount DOUBLE PRECISION,
        property_closedate TIMESTAMP, deal_pipeline_stage_id VARCHAR, owner_id BIGINT,
        is_deleted BOOLEAN, _fivetran_deleted BOOLEAN)""",
    "DROP TABLE IF EXISTS hubspot.deal_company",
    "CREATE TABLE hubspot.deal_company (deal_id BIGINT, company_id BIGINT, type_id INTEGER)",
]

HUBSPOT_ROWS = [
    """INSERT INTO hubspot.owner VALUES
        (71000001, 'ana@saas.example', 'Ana', 'Lima', true, false),
        (71000002, 'bob@saas.example', 'Bob', 'Ng', true, false)""",
    """INSERT INTO hubspot.company VALUES
        (9100000001, 'Acme Corp', 'acme.com', 1500, 71000002, 'customer', 'MANUFACTURING', false, false),
        (9100000002, 'Globex', 'www.globex.com', 300, 71000002, 'opportunity', 'UTILITIES', false, false),
        (9100000003, 'Initech', NULL, 40, NULL, 'customer', NULL, false, false),
        (9100000004, 'Deleted Inc', 'deleted.example', 5, NULL, 'lead', NULL, false, true)""",
    """INSERT INTO hubspot.deal VALUES
        (3300000001, 'Acme - annual', 120000, TIMESTAMP '2026-01-15 16:20:00', 'closedwon', 71000002,
         false, false),
        (3300000002, 'Acme - expansion', 24000, TIMESTAMP '2026-07-10 09:00:00', 'closedwon', 71000002,
         false, false),
        (3300000003, 'Globex - pilot', 50000, TIMESTAMP '2026-05-02 12:00:00', 'closedlost', 71000002,
         false, false),
        (3300000004, 'Initech - starter', 6000, TIMESTAMP '2026-03-31 23:00:00', 'closedwon', 71000001,
         false, false)""",
    """INSERT INTO hubspot.deal_company VALUES
        (3300000001, 9100000001, 5), (3300000002, 9100000001, 5), (3300000003, 9100000002, 5),
        (3300000004, 9100000003, 5)""",
]


def build_salesforce(conn: Connection) -> None:
    for statement in [*SALESFORCE_DDL, *SALESFORCE_ROWS]:
        conn.execute(text(statement))


def build_hubspot(conn: Connection) -> None:
    for statement in [*HUBSPOT_DDL, *HUBSPOT_ROWS]:
        conn.execute(text(statement))
