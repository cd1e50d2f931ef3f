"""An Athena stand-in for the iotpipe tests that runs the SQL it is sent.

It speaks Athena's JSON protocol (X-Amz-Target: AmazonAthena.<Action>) for
StartQueryExecution, GetQueryExecution, GetQueryResults, StopQueryExecution,
ListQueryExecutions, BatchGetQueryExecution, GetWorkGroup and CreateWorkGroup,
and keeps the Glue catalog in memory. The data lives in moto's S3 (argv[2]).

- DDL (`CREATE DATABASE`, `CREATE EXTERNAL TABLE`, `DROP TABLE`) is parsed with
  sqlglot's `athena` dialect and recorded: columns, partition columns,
  LOCATION, format (OpenX JSON SerDe or Parquet), TBLPROPERTIES.
- DML and SELECT are parsed as Athena (Trino) SQL, translated to DuckDB by
  sqlglot and executed. Each table a query names is loaded from S3 first:
  * a JSON table reads the objects under its LOCATION (not names starting
    with `_` or `.`, as Athena), gunzipping `.gz`, with a `"$path"` column;
    a line that is not a JSON object fails the query with HIVE_CURSOR_ERROR, a
    value that does not fit its column's type with HIVE_BAD_DATA, as Athena's
    OpenX SerDe does. A `"$path" IN (...)` predicate limits the objects read.
  * a text table (`STORED AS TEXTFILE`, LazySimpleSerDe) reads the same
    objects as lines, each split at the field delimiter (`\\001` unless
    `FIELDS TERMINATED BY` says otherwise) into its columns, missing ones NULL.
  * how the JSON SerDe meets a value of the wrong type is a choice: the
    OpenX SerDe fails the query (HIVE_BAD_DATA, the default), while others,
    or OpenX with `ignore.malformed.json`, read it as NULL (Athena docs,
    "JSON SerDe libraries"); the test route below picks one.
  * a Parquet table reads the files of its partitions: with partition
    projection (`projection.enabled`) every `col=value/` directory within the
    column's `projection.<col>.range` (Athena, "Partition projection",
    Considerations: a partition outside the range returns no rows), otherwise
    only partitions registered by an INSERT. Equality or IN predicates on a
    partition column limit the partitions read. Parquet columns are mapped by
    name; a column a file lacks reads as NULL.
- Time zones as Trino has them (Trino docs, "Date and time functions"):
  `from_iso8601_timestamp` returns a timestamp *with the string's own zone*,
  so casting it to `timestamp` or formatting it keeps the wall time at that
  offset; only `... AT TIME ZONE 'UTC'` converts it to UTC first.
- A query string longer than 262,144 bytes is refused (Athena API reference,
  StartQueryExecution, QueryString: maximum length 262144).
  Bytes scanned: whole objects for JSON, the column chunks of the columns the
  query names for Parquet (what Athena bills).
- Queries run side by side (no global lock), as Athena runs them.
- INSERT INTO writes one zstd Parquet file per partition under the table's
  `col=value/` layout (at most 100 partitions, else HIVE_TOO_MANY_OPEN_PARTITIONS),
  registers the partitions and writes the data manifest
  `<output>/tables/<query id>-manifest.csv`. SELECT results are returned by
  GetQueryResults (header row first) and written to `<output>/<query id>.csv`.

Test routes:
  POST /iotpipe-test/athena/fail {"reason", "count", "match"}  the next `count`
       queries (containing `match`, if given) end FAILED with `reason`
  POST /iotpipe-test/athena/hold {"count", "match"}  the next `count` queries
       (containing `match`) stay RUNNING until released or stopped
  POST /iotpipe-test/athena/release                  runs the held queries
  POST /iotpipe-test/athena/serde {"mismatch": "fail"|"null"}  what the JSON
       SerDe does with a value of the wrong type
  GET  /iotpipe-test/athena/queries                  every query: id, sql, state,
       reason, scanned bytes, oldest first

Usage: python athena.py PORT S3_ENDPOINT
"""

import csv
import datetime
import gzip
import io
import json
import os
import re
import sys
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import duckdb
import sqlglot
from sqlglot import exp

MAX_PARTITIONS = 100
MAX_QUERY_BYTES = 262_144
HIDDEN = ("_", ".")

s3 = boto3.client(
    "s3",
    endpoint_url=sys.argv[2],
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)

databases = {"default"}
tables = {}  # (database, table) -> dict
executions = {}  # id -> dict
order = []
failures = []  # [(reason, match)]
serde = {"mismatch": "fail"}
holds = []  # [("hold", match)]
held = []  # execution ids
workgroups = {
    "primary": {"Name": "primary", "State": "ENABLED", "Configuration": {}, "Description": ""}
}
# Queries run side by side, as Athena runs them: each on its own DuckDB
# connection, in the thread of the request that started (or released) it.


class QueryFailed(Exception):
    pass


def split_uri(uri):
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    return bucket, key


def list_objects(uri):
    bucket, prefix = split_uri(uri)
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith("/") or key.rsplit("/", 1)[-1].startswith(HIDDEN):
                continue
            found.append((f"s3://{bucket}/{key}", item["Size"]))
    return found


def read_object(uri):
    bucket, key = split_uri(uri)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


DUCK_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}


def hive_type(data_type):
    name = data_type.sql(dialect="hive").lower()
    return {"text": "string"}.get(name, name)


def duck_type(hive):
    return DUCK_TYPES.get(hive, "VARCHAR")


def quoted(name):
    return '"' + name.replace('"', '""') + '"'


def record_ddl(tree, default_db):
    """CREATE DATABASE / CREATE EXTERNAL TABLE / DROP TABLE."""
    kind = (tree.args.get("kind") or "").upper()
    if isinstance(tree, exp.Drop):
        table = tree.this
        key = (table.db or default_db, table.name)
        if key not in tables and not tree.args.get("exists"):
            raise QueryFailed(f"FAILED: SemanticException [Error 10001]: Table not found {key[0]}.{key[1]}")
        tables.pop(key, None)
        return
    if kind in ("DATABASE", "SCHEMA"):
        databases.add(tree.this.name)
        return
    if kind != "TABLE":
        raise QueryFailed(f"NOT_SUPPORTED: the Athena stand-in does not run CREATE {kind}")
    schema = tree.this
    table = schema.this
    db = table.db or default_db
    if db not in databases:
        raise QueryFailed(f"FAILED: SemanticException [Error 10072]: Database does not exist: {db}")
    key = (db, table.name)
    if key in tables:
        if tree.args.get("exists"):
            return
        raise QueryFailed(f"AlreadyExistsException: Table {db}.{table.name} already exists")
    columns = [(c.name, hive_type(c.args["kind"])) for c in schema.expressions]
    spec = {"columns": columns, "partitions": [], "location": None, "format": None,
            "properties": {}, "registered": set()}
    for prop in tree.args["properties"].expressions:
        if isinstance(prop, exp.PartitionedByProperty):
            spec["partitions"] = [(c.name, hive_type(c.args["kind"])) for c in prop.this.expressions]
        elif isinstance(prop, exp.LocationProperty):
            spec["location"] = prop.this.name
        elif isinstance(prop, exp.FileFormatProperty):
            spec["format"] = {"textfile": "text"}.get(prop.this.name.lower(), prop.this.name.lower())
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            if "json" in prop.this.name.lower():
                spec["format"] = "json"
        elif isinstance(prop, exp.RowFormatDelimitedProperty):
            fields = prop.args.get("fields")
            if fields is not None:
                spec["delimiter"] = fields.name
        elif type(prop) is exp.Property:
            spec["properties"][prop.this.name] = prop.args["value"].name
    if spec["format"] not in ("json", "text", "parquet") or not spec["location"]:
        raise QueryFailed("NOT_SUPPORTED: the Athena stand-in runs JSON, text and Parquet tables with a LOCATION")
    if not spec["location"].endswith("/"):
        spec["location"] += "/"
    tables[key] = spec


def literals_for(tree, names):
    """Values compared by = or IN with a column of one of `names`, by column."""
    found = {}
    for node in tree.find_all(exp.In, exp.EQ):
        column = node.this if isinstance(node, exp.In) else node.left
        values = node.expressions if isinstance(node, exp.In) else [node.right]
        if isinstance(column, exp.Column) and column.name in names:
            if values and all(isinstance(v, exp.Literal) for v in values):
                found.setdefault(column.name, set()).update(v.name for v in values)
    return found


def convert(value, hive, line_no, field_no, uri):
    if value is None:
        return None
    bad = QueryFailed(
        f"HIVE_BAD_DATA: Error parsing field value '{value}' for field {field_no}: "
        f"For input string: \"{value}\" (file {uri}, line {line_no})"
    )
    if hive in ("string", "varchar"):
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value)
    if serde["mismatch"] == "null":
        try:
            return convert_strictly(value, hive, bad)
        except QueryFailed:
            return None
    return convert_strictly(value, hive, bad)


def convert_strictly(value, hive, bad):
    if isinstance(value, (dict, list)):
        raise bad
    if hive in ("int", "integer", "bigint"):
        if isinstance(value, bool):
            raise bad
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise bad from None
        # Java's Integer/Long parsing: out of range is a bad value, not a wrap.
        bits = 63 if hive == "bigint" else 31
        if not -(2**bits) <= number < 2**bits:
            raise bad
        return number
    if hive in ("double", "float"):
        if isinstance(value, bool):
            raise bad
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad from None
    if hive == "boolean":
        if isinstance(value, bool):
            return value
        raise bad
    return str(value)


def object_lines(spec, paths):
    """(uri, line number, line) of each object under the table's LOCATION
    (those in `paths`, if given), and the bytes read."""
    objects = list_objects(spec["location"])
    if paths is not None:
        objects = [(uri, size) for uri, size in objects if uri in paths]
    lines = []
    scanned = 0
    for uri, size in objects:
        scanned += size
        body = read_object(uri)
        if uri.endswith(".gz"):
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as e:
                raise QueryFailed(f"HIVE_CURSOR_ERROR: {e} (file {uri})") from None
        text = body.decode("utf-8", errors="replace")
        lines.extend((uri, n, line) for n, line in enumerate(text.split("\n"), 1))
    return lines, scanned


def load_rows(con, name, columns, rows):
    """Creates table `name` with `columns` (and `$path`) holding `rows` (dicts)."""
    definition = ", ".join(f"{quoted(c)} {duck_type(t)}" for c, t in columns)
    con.execute(f"CREATE TABLE {name} ({definition}, \"$path\" VARCHAR)")
    if not rows:
        return
    rows_file = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
    with rows_file:
        for row in rows:
            rows_file.write(json.dumps(row) + "\n")
    types = {c: duck_type(t) for c, t in columns}
    types["$path"] = "VARCHAR"
    con.execute(
        f"INSERT INTO {name} SELECT * FROM read_json(?, format='newline_delimited', "
        f"columns={types!r})",
        [rows_file.name],
    )
    os.unlink(rows_file.name)


def load_text_table(con, name, spec, paths):
    """Loads the objects of a text table, a row per line; returns bytes read."""
    lines, scanned = object_lines(spec, paths)
    delimiter = spec.get("delimiter", "\x01")
    columns = spec["columns"]
    rows = []
    for uri, _, line in lines:
        if not line:
            continue
        fields = line.split(delimiter)
        row = {c: (fields[i] if i < len(fields) else None) for i, (c, _) in enumerate(columns)}
        row["$path"] = uri
        rows.append(row)
    load_rows(con, name, columns, rows)
    return scanned


def load_json_table(con, name, spec, paths):
    """Loads the objects of a JSON table; returns bytes read."""
    lines, scanned = object_lines(spec, paths)
    columns = spec["columns"]
    rows = []
    for uri, line_no, line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as e:
            value = e
        if not isinstance(value, dict):
            raise QueryFailed(
                "HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: "
                f"A JSONObject text must begin with '{{' at line {line_no} (file {uri})"
            )
        lowered = {k.lower(): v for k, v in value.items()}
        row = {
            column: convert(lowered.get(column.lower()), hive, line_no, i, uri)
            for i, (column, hive) in enumerate(columns)
        }
        row["$path"] = uri
        rows.append(row)
    load_rows(con, name, columns, rows)
    return scanned


def projected_range(spec, column):
    """The (first, last) value of a projected date column, as ISO dates; None: unbounded."""
    text = spec["properties"].get(f"projection.{column}.range")
    if spec["properties"].get(f"projection.{column}.type") != "date" or not text:
        return None
    today = datetime.datetime.now(datetime.timezone.utc).date()

    def bound(value):
        value = value.strip()
        found = re.fullmatch(r"NOW(?:([+-])(\d+)(DAYS|WEEKS|MONTHS|YEARS))?", value)
        if not found:
            return datetime.date.fromisoformat(value)
        sign, amount, unit = found.groups()
        if not sign:
            return today
        amount = int(amount) * (1 if sign == "+" else -1)
        if unit == "DAYS":
            return today + datetime.timedelta(days=amount)
        if unit == "WEEKS":
            return today + datetime.timedelta(weeks=amount)
        months = today.year * 12 + today.month - 1 + amount * (12 if unit == "YEARS" else 1)
        return today.replace(year=months // 12, month=months % 12 + 1)

    first, last = text.split(",")
    return bound(first).isoformat(), bound(last).isoformat()


def partition_files(spec, wanted):
    """The data files of a partitioned table's partitions, as (uri, values)."""
    names = [p for p, _ in spec["partitions"]]
    projected = spec["properties"].get("projection.enabled", "").lower() == "true"
    ranges = {name: projected_range(spec, name) for name in names} if projected else {}
    files = []
    for uri, size in list_objects(spec["location"]):
        relative = uri[len(spec["location"]):].split("/")
        if len(relative) != len(names) + 1:
            continue
        values = []
        for name, part in zip(names, relative):
            column, _, value = part.partition("=")
            if column != name:
                break
            values.append(value)
        else:
            if not projected and tuple(values) not in spec["registered"]:
                continue
            if any(
                ranges.get(name) and not ranges[name][0] <= value <= ranges[name][1]
                for name, value in zip(names, values)
            ):
                continue
            if any(name in wanted and value not in wanted[name] for name, value in zip(names, values)):
                continue
            files.append((uri, size, values))
    return files


def load_parquet_table(con, name, spec, query_columns, wanted):
    columns = spec["columns"]
    partitions = spec["partitions"]
    definition = ", ".join(f"{quoted(c)} {duck_type(t)}" for c, t in columns + partitions)
    con.execute(f"CREATE TABLE {name} ({definition}, \"$path\" VARCHAR)")
    scanned = 0
    for uri, _size, values in partition_files(spec, wanted):
        local = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)
        with local:
            local.write(read_object(uri))
        present = {row[0] for row in con.execute("SELECT name FROM parquet_schema(?)", [local.name]).fetchall()}
        select = []
        for column, hive in columns:
            # Athena maps Parquet columns by name; a column a file lacks reads as NULL.
            source = quoted(column) if column in present else "NULL"
            select.append(f"CAST({source} AS {duck_type(hive)})")
        for (column, hive), value in zip(partitions, values):
            select.append(f"CAST(? AS {duck_type(hive)})")
        con.execute(
            f"INSERT INTO {name} SELECT {', '.join(select)}, ? FROM read_parquet(?)",
            [*values, uri, local.name],
        )
        chunks = con.execute(
            "SELECT path_in_schema, total_compressed_size FROM parquet_metadata(?)", [local.name]
        ).fetchall()
        scanned += sum(size for column, size in chunks if column in query_columns)
        os.unlink(local.name)
    return scanned


def prepare(con, tree, default_db, reads):
    """Loads every table `reads` names into DuckDB; returns bytes scanned."""
    cte_names = {cte.alias for cte in tree.find_all(exp.CTE)}
    query_columns = {c.name for c in reads.find_all(exp.Column)}
    paths = literals_for(reads, {"$path"}).get("$path")
    scanned = 0
    loaded = set()
    for table in reads.find_all(exp.Table):
        if not table.db and table.name in cte_names:
            continue
        key = (table.db or default_db, table.name)
        if key in loaded:
            continue
        if key not in tables:
            raise QueryFailed(
                f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{key[0]}.{key[1]}' does not exist"
            )
        loaded.add(key)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(key[0])}")
        name = f"{quoted(key[0])}.{quoted(key[1])}"
        spec = tables[key]
        if spec["format"] == "json":
            scanned += load_json_table(con, name, spec, paths)
        elif spec["format"] == "text":
            scanned += load_text_table(con, name, spec, paths)
        else:
            wanted = literals_for(reads, {p for p, _ in spec["partitions"]})
            scanned += load_parquet_table(con, name, spec, query_columns, wanted)
    return scanned


def qualify(tree, default_db):
    for table in tree.find_all(exp.Table):
        if not table.db and table.name in tables_in(default_db):
            table.set("db", exp.to_identifier(default_db, quoted=True))
    return tree


def tables_in(db):
    return {name for d, name in tables if d == db}


def insert(con, execution, tree, default_db):
    target = tree.this
    if isinstance(target, exp.Schema):
        target = target.this
    key = (target.db or default_db, target.name)
    if key not in tables:
        raise QueryFailed(f"TABLE_NOT_FOUND: Table 'awsdatacatalog.{key[0]}.{key[1]}' does not exist")
    spec = tables[key]
    if spec["format"] != "parquet":
        raise QueryFailed("NOT_SUPPORTED: the Athena stand-in inserts into Parquet tables only")
    select = tree.expression
    con.execute(f"CREATE TEMP TABLE __result AS {duck_sql(select)}")
    produced = [row[0] for row in con.execute("DESCRIBE __result").fetchall()]
    targets = spec["columns"] + spec["partitions"]
    if len(produced) != len(targets):
        raise QueryFailed(
            f"SYNTAX_ERROR: Insert query has {len(produced)} columns, table has {len(targets)}"
        )
    casts = ", ".join(
        f"CAST({quoted(src)} AS {duck_type(hive)}) AS {quoted(name)}"
        for src, (name, hive) in zip(produced, targets)
    )
    con.execute(f"CREATE TEMP TABLE __typed AS SELECT {casts} FROM __result")
    names = [p for p, _ in spec["partitions"]]
    groups = con.execute(
        f"SELECT DISTINCT {', '.join(quoted(n) for n in names) or '1'} FROM __typed"
    ).fetchall()
    if len(groups) > MAX_PARTITIONS:
        raise QueryFailed(
            "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets"
        )
    written = []
    data_columns = ", ".join(quoted(c) for c, _ in spec["columns"])
    for group in groups:
        values = [None if v is None else str(v) for v in group] if names else []
        directory = "".join(
            f"{n}={'__HIVE_DEFAULT_PARTITION__' if v is None else v}/" for n, v in zip(names, values)
        )
        condition = " AND ".join(f"{quoted(n)} IS NOT DISTINCT FROM ?" for n in names) or "TRUE"
        local = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)
        local.close()
        con.execute(
            f"COPY (SELECT {data_columns} FROM __typed WHERE {condition}) TO '{local.name}' "
            "(FORMAT parquet, COMPRESSION zstd)",
            values,
        )
        uri = f"{spec['location']}{directory}{execution['trino_id']}_{uuid.uuid4()}"
        bucket, object_key = split_uri(uri)
        with open(local.name, "rb") as f:
            s3.put_object(Bucket=bucket, Key=object_key, Body=f.read())
        os.unlink(local.name)
        written.append(uri)
        if names:
            spec["registered"].add(tuple("__HIVE_DEFAULT_PARTITION__" if v is None else v for v in values))
    if execution["output"]:
        manifest = "".join(f"{uri}\n" for uri in written)
        put_output(execution, f"tables/{execution['id']}-manifest.csv", manifest)
    execution["update_count"] = con.execute("SELECT count(*) FROM __typed").fetchone()[0]
    return [], []


def put_output(execution, name, text):
    bucket, prefix = split_uri(execution["output"])
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    s3.put_object(Bucket=bucket, Key=prefix + name, Body=text.encode())


TYPE_NAMES = {"VARCHAR": "varchar", "BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double",
              "BOOLEAN": "boolean", "TIMESTAMP": "timestamp", "DATE": "date", "HUGEINT": "bigint"}


def trino_times(tree):
    """Gives `from_iso8601_timestamp` Trino's meaning in DuckDB: under
    `AT TIME ZONE 'UTC'` the instant (DuckDB's TIMESTAMPTZ in a UTC session,
    as sqlglot translates it); anywhere else the wall time at the string's own
    offset, which is what a cast to `timestamp` or `date_format` sees."""
    converted = set()
    for node in tree.find_all(exp.AtTimeZone):
        zone = node.args.get("zone")
        if isinstance(zone, exp.Literal) and zone.this.upper() == "UTC":
            converted.update(id(f) for f in node.this.find_all(exp.FromISO8601Timestamp))
    for node in list(tree.find_all(exp.FromISO8601Timestamp)):
        if id(node) not in converted:
            node.replace(exp.Anonymous(this="iotpipe_wall_time", expressions=[node.this]))
    return tree


def duck_sql(tree):
    # Trino's length(to_utf8(x)) counts bytes; DuckDB's length() takes no BLOB.
    return trino_times(tree).sql(dialect="duckdb").replace("LENGTH(ENCODE(", "OCTET_LENGTH(ENCODE(")


WALL_TIME = (
    "CREATE MACRO iotpipe_wall_time(x) AS "
    "CAST(regexp_replace(CAST(x AS VARCHAR), '([Zz]|[+-][0-9]{2}:[0-9]{2})$', '') AS TIMESTAMP)"
)


def select(con, execution, tree):
    cursor = con.execute(duck_sql(tree))
    names = [d[0] for d in cursor.description]
    types = [TYPE_NAMES.get(str(d[1]).upper(), "varchar") for d in cursor.description]
    rows = [[None if v is None else str(v) for v in row] for row in cursor.fetchall()]
    if execution["output"]:
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow(names)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        put_output(execution, f"{execution['id']}.csv", out.getvalue())
    return [names] + rows, list(zip(names, types))


def execute(execution):
    sql = execution["sql"]
    default_db = execution["database"] or "default"
    try:
        tree = sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError as e:
        raise QueryFailed(f"SYNTAX_ERROR: {str(e).splitlines()[0]}") from None
    if isinstance(tree, (exp.Create, exp.Drop)):
        execution["type"] = "DDL"
        record_ddl(tree, default_db)
        return [], []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(WALL_TIME)
        if isinstance(tree, exp.Insert):
            execution["type"] = "DML"
            execution["scanned"] = prepare(con, tree, default_db, tree.expression)
            qualify(tree, default_db)
            return insert(con, execution, tree, default_db)
        if isinstance(tree, exp.Query):
            execution["scanned"] = prepare(con, tree, default_db, tree)
            qualify(tree, default_db)
            return select(con, execution, tree)
        raise QueryFailed(f"NOT_SUPPORTED: the Athena stand-in does not run {type(tree).__name__}")
    except duckdb.Error as e:
        raise QueryFailed(f"GENERIC_INTERNAL_ERROR: {str(e).splitlines()[0]}") from None
    finally:
        con.close()


def run(execution):
    if execution["state"] != "RUNNING":
        return
    started = time.time()
    try:
        rows, columns = execute(execution)
        state, reason = "SUCCEEDED", None
    except QueryFailed as e:
        rows, columns, state, reason = [], [], "FAILED", str(e)
    except Exception as e:  # a bug of the stand-in: say so instead of hanging up
        rows, columns, state = [], [], "FAILED"
        reason = f"GENERIC_INTERNAL_ERROR: the Athena stand-in failed: {e!r}"
    # A query stopped while it ran stays CANCELLED.
    if execution["state"] == "RUNNING":
        execution["rows"], execution["columns"] = rows, columns
        execution["state"], execution["reason"] = state, reason
        execution["millis"] = int((time.time() - started) * 1000)
        execution["done"] = time.time()


def take(plan, sql):
    for i, (_, match) in enumerate(plan):
        if not match or match in sql:
            return plan.pop(i)
    return None


def start(body):
    sql = body.get("QueryString", "")
    if len(sql.encode()) > MAX_QUERY_BYTES:
        return 400, {
            "__type": "InvalidRequestException",
            "Message": "1 validation error detected: Value at 'queryString' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_QUERY_BYTES}",
        }
    workgroup = body.get("WorkGroup") or "primary"
    if workgroup not in workgroups:
        return 400, {"__type": "InvalidRequestException", "Message": f"WorkGroup {workgroup} is not found."}
    output = (body.get("ResultConfiguration") or {}).get("OutputLocation")
    configured = workgroups[workgroup].get("Configuration", {})
    enforced = configured.get("EnforceWorkGroupConfiguration")
    default_output = (configured.get("ResultConfiguration") or {}).get("OutputLocation")
    if enforced or not output:
        output = default_output or output
    if not output:
        return 400, {"__type": "InvalidRequestException",
                     "Message": "No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input."}
    query_id = str(uuid.uuid4())
    execution = {
        "id": query_id,
        "trino_id": time.strftime("%Y%m%d_%H%M%S", time.gmtime()) + f"_{len(order):05d}_{uuid.uuid4().hex[:5]}",
        "sql": sql,
        "database": (body.get("QueryExecutionContext") or {}).get("Database"),
        "workgroup": workgroup,
        "output": output,
        "state": "RUNNING",
        "reason": None,
        "scanned": 0,
        "millis": 0,
        "submitted": time.time(),
        "done": None,
        "type": "DML",
        "rows": [],
        "columns": [],
    }
    executions[query_id] = execution
    order.append(query_id)
    failure = take(failures, sql)
    if failure:
        execution["state"] = "FAILED"
        execution["reason"] = failure[0]
        execution["done"] = time.time()
    elif take(holds, sql):
        held.append(query_id)
    else:
        run(execution)
    return 200, {"QueryExecutionId": query_id}


def describe(execution):
    status = {"State": execution["state"], "SubmissionDateTime": execution["submitted"]}
    if execution["done"]:
        status["CompletionDateTime"] = execution["done"]
    if execution["reason"]:
        status["StateChangeReason"] = execution["reason"]
        status["AthenaError"] = {
            "ErrorCategory": 2,
            "ErrorType": 1100,
            "Retryable": False,
            "ErrorMessage": execution["reason"],
        }
    result = {
        "QueryExecutionId": execution["id"],
        "Query": execution["sql"],
        "StatementType": execution["type"],
        "ResultConfiguration": {"OutputLocation": f"{execution['output'].rstrip('/')}/{execution['id']}.csv"},
        "QueryExecutionContext": {"Database": execution["database"] or "default"},
        "Status": status,
        "Statistics": {
            "EngineExecutionTimeInMillis": execution["millis"],
            "DataScannedInBytes": execution["scanned"],
            "TotalExecutionTimeInMillis": execution["millis"],
        },
        "WorkGroup": execution["workgroup"],
    }
    if execution["type"] == "DML" and execution["sql"].lstrip().upper().startswith("INSERT"):
        result["Statistics"]["DataManifestLocation"] = (
            f"{execution['output'].rstrip('/')}/tables/{execution['id']}-manifest.csv"
        )
    return result


def not_found(query_id):
    return 400, {"__type": "InvalidRequestException", "Message": f"QueryExecution {query_id} was not found"}


def results(body):
    query_id = body.get("QueryExecutionId")
    execution = executions.get(query_id)
    if not execution:
        return not_found(query_id)
    if execution["state"] != "SUCCEEDED":
        return 400, {"__type": "InvalidRequestException",
                     "Message": f"Query has not yet finished. Current state: {execution['state']}"}
    limit = min(int(body.get("MaxResults") or 1000), 1000)
    offset = int(body.get("NextToken") or 0)
    rows = execution["rows"][offset:offset + limit]
    reply = {
        "UpdateCount": execution.get("update_count", 0),
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows],
            "ResultSetMetadata": {"ColumnInfo": [
                {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name,
                 "Type": kind, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": kind == "varchar"}
                for name, kind in execution["columns"]
            ]},
        },
    }
    if offset + limit < len(execution["rows"]):
        reply["NextToken"] = str(offset + limit)
    return 200, reply


def stop(body):
    query_id = body.get("QueryExecutionId")
    execution = executions.get(query_id)
    if not execution:
        return not_found(query_id)
    if execution["state"] in ("QUEUED", "RUNNING"):
        execution["state"] = "CANCELLED"
        execution["reason"] = "Query cancelled by user"
        execution["done"] = time.time()
        if query_id in held:
            held.remove(query_id)
    return 200, {}


def get_work_group(body):
    name = body.get("WorkGroup")
    if name not in workgroups:
        return 400, {"__type": "InvalidRequestException", "Message": f"WorkGroup {name} is not found."}
    return 200, {"WorkGroup": workgroups[name]}


def create_work_group(body):
    name = body["Name"]
    if name in workgroups:
        return 400, {"__type": "InvalidRequestException", "Message": f"WorkGroup {name} is already created"}
    workgroups[name] = {
        "Name": name,
        "State": "ENABLED",
        "Configuration": body.get("Configuration", {}),
        "Description": body.get("Description", ""),
    }
    return 200, {}


ACTIONS = {
    "StartQueryExecution": start,
    "GetQueryExecution": lambda b: (200, {"QueryExecution": describe(executions[b["QueryExecutionId"]])})
    if b.get("QueryExecutionId") in executions else not_found(b.get("QueryExecutionId")),
    "BatchGetQueryExecution": lambda b: (200, {
        "QueryExecutions": [describe(executions[i]) for i in b.get("QueryExecutionIds", []) if i in executions],
        "UnprocessedQueryExecutionIds": [
            {"QueryExecutionId": i, "ErrorCode": "NotFound"} for i in b.get("QueryExecutionIds", [])
            if i not in executions
        ],
    }),
    "ListQueryExecutions": lambda b: (200, {"QueryExecutionIds": list(reversed(order))}),
    "GetQueryResults": results,
    "StopQueryExecution": stop,
    "GetWorkGroup": get_work_group,
    "CreateWorkGroup": create_work_group,
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self):
        if self.path == "/iotpipe-test/athena/queries":
            self.reply(200, [
                {"id": i, "sql": executions[i]["sql"], "state": executions[i]["state"],
                 "reason": executions[i]["reason"], "scanned": executions[i]["scanned"]}
                for i in order
            ])
        else:
            self.reply(404, {"message": "not found"})

    def do_POST(self):
        body = self.body()
        if self.path == "/iotpipe-test/athena/fail":
            for _ in range(int(body.get("count", 1))):
                failures.append((body.get("reason", "injected failure"), body.get("match")))
            return self.reply(200, {})
        if self.path == "/iotpipe-test/athena/hold":
            holds.extend([("hold", body.get("match"))] * int(body.get("count", 1)))
            return self.reply(200, {})
        if self.path == "/iotpipe-test/athena/serde":
            serde["mismatch"] = body.get("mismatch", "fail")
            return self.reply(200, {})
        if self.path == "/iotpipe-test/athena/release":
            waiting = list(held)
            held.clear()
            for query_id in waiting:
                run(executions[query_id])
            return self.reply(200, {"released": len(waiting)})
        action = (self.headers.get("X-Amz-Target") or "").split(".")[-1]
        handler = ACTIONS.get(action)
        if handler is None:
            return self.reply(400, {"__type": "UnknownOperationException", "Message": action})
        status, reply = handler(body)
        self.reply(status, reply)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
