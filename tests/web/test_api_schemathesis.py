"""Schemathesis against /api/v1/openapi.json, in-process (WSGI), on SQLite and PostgreSQL: every operation answers
as its document says (invalid data refused with a 4xx), never with a 500 (issue 13, "keep it found"). Bounded and derandomized: the same examples
every run."""
import itertools

import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings

from app.core import tokens

EXAMPLES_PER_OPERATION = 30  # for valid data, and again for invalid data
# Schema-valid requests the service refuses by rules OpenAPI cannot state (a paid_at that is no time, an order
# naming no customer) get a 422 naming the field, as documented. Invalid data must get a documented 4xx, never a
# 500; but whether each is refused is not asked: unknown query parameters are ignored, as most APIs do, and the
# negated Authorization header is put back by the test, which signs every request.
EXCLUDED = {GenerationMode.POSITIVE: [schemathesis.checks.positive_data_acceptance],
            GenerationMode.NEGATIVE: [schemathesis.checks.positive_data_acceptance,
                                      schemathesis.checks.negative_data_rejection]}


def test_every_api_operation_answers_as_documented(app):
    def one_context_per_request(environ, start_response):  # as in production: no session shared between calls
        with app.app_context():
            return list(app.wsgi_app(environ, start_response))

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", one_context_per_request)
    headers = {"Authorization": f"Bearer {tokens.issue('schemathesis', 'admin', created_by='test')[1]}"}
    failures = []
    for result, mode in itertools.product(list(schema.get_all_operations()), GenerationMode):
        operation = result.ok()

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers_as_documented(case):
            case.call_and_validate(headers=headers, excluded_checks=EXCLUDED[mode])

        try:
            answers_as_documented()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label} ({mode.value} data): {exc}")
    assert not failures, "\n\n".join(failures)
