"""Every error leaves as Neutron's NeutronError JSON with Neutron's status."""
from __future__ import annotations

import json
import logging
from typing import Any

import falcon

from kaon import exceptions as exc

LOG = logging.getLogger(__name__)

_STATUS = [
    (exc.NotFound, falcon.HTTP_404),
    (exc.Conflict, falcon.HTTP_409),
    (exc.NotAuthorized, falcon.HTTP_403),
    (exc.BadRequest, falcon.HTTP_400),
    (exc.PreconditionFailed, falcon.HTTP_412),
    (exc.ServiceUnavailable, falcon.HTTP_503),
]


def error_document(type_: str, message: str) -> bytes:
    """The body of every error kaon answers, from the app or the server."""
    return json.dumps({'NeutronError': {
        'type': type_, 'message': message, 'detail': ''}}).encode()


def neutron_error(resp: falcon.Response, status: str | int, type_: str,
                  message: str) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = error_document(type_, message)


def handle_neutron_exception(req: falcon.Request, resp: falcon.Response,
                             err: exc.NeutronException, _params: Any) -> None:
    status = next((s for cls, s in _STATUS if isinstance(err, cls)),
                  falcon.HTTP_500)
    neutron_error(resp, status, err.type, err.msg)


def handle_http_error(req: falcon.Request, resp: falcon.Response,
                      err: falcon.HTTPError, _params: Any) -> None:
    """Falcon's own errors (unknown route, wrong method) in Neutron's form."""
    name = 'HTTP' + ''.join(w.capitalize() for w in
                            str(err.title or 'Error').split())
    message = err.description or err.title or 'Error'
    neutron_error(resp, err.status, name.replace('-', ''), message)
    if err.headers:
        resp.set_headers(err.headers)   # a mapping or (name, value) pairs


def handle_unexpected(req: falcon.Request, resp: falcon.Response,
                      err: Exception, _params: Any) -> None:
    LOG.exception('%s %s failed', req.method, req.path)
    neutron_error(resp, falcon.HTTP_500, 'HTTPInternalServerError',
                  'Request Failed: internal server error while processing '
                  'your request.')


def install(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(exc.NeutronException, handle_neutron_exception)
