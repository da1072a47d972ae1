"""Alembic environment: kaon passes the connection in, never a URL here."""
from alembic import context

from kaon.db.models import metadata

connection = context.config.attributes['connection']
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
