"""Who is asking: the request context every plugin call receives."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Context:
    project_id: str
    roles: tuple[str, ...] = ()
    is_admin: bool = False
    request_id: str = ''
    user_id: str = ''

    @classmethod
    def admin(cls, project_id: str = 'admin') -> 'Context':
        return cls(project_id=project_id, roles=('admin',), is_admin=True)
