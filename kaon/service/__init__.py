"""Start-up and lifetimes: what runs where, and how it stops.

kaon/api builds a WSGI app from a plugin and knows nothing of how it is
served; this package opens the database, checks its schema, starts the one
RPC server of a kaon server, serves the API (threads in one process, or
gunicorn worker processes), runs the all-in-one (server and DHCP agent in
one process) and stops all of it in order.  Layers: cli -> service ->
api / rpc / agent -> plugin -> db.

    database.py    open the database; check or upgrade its schema
    rpc.py         the RPC server (once per kaon server) and the per-process
                   DHCP notifier (every process that raises plugin events)
    front.py       the HTTP front: whole requests read on an event loop
    framing.py     HTTP/1.1 framing for the front: head, length, chunks
    api_server.py  the front over an app, in this process; start-up checks
    workers.py     api_workers > 1: gunicorn workers, each with a notifier
    rpc_process.py api_workers > 1: the RPC server's own process, watched
    embedded.py    the server (and a DHCP agent) in this process
    server.py      `kaon server`: pick one of the two, run until SIGTERM
"""
