"""Shared core of the migration-writer scripts.

One model of a golang-migrate migrations folder (`folder`), one sandboxed SQL
engine that opens every connection and runs every migration statement
(`engine`), golang-migrate's protocol on top of it (`gomigrate`), one schema snapshot and diff (`schema`), project
detection (`project`) and the command-line shell every script uses (`cli`).

Modules are imported on demand: `next_version.py` must start fast, so this
package imports nothing heavy (no sqlite3) at import time.
"""

__version__ = "0.1.0"
