"""The Airflow assets that chain casslink's DAGs (data-aware scheduling, Airflow 3).

``PERIOD_SETTLED``: the settlement DAG's ``settle`` task emits one event per settled period,
its extra ``{"operation", "period", "run_id"}`` (ids only); the invoices DAG is scheduled on
it, so a period's legal invoices follow its settlement without a trigger of its own.
"""

from __future__ import annotations

from airflow.sdk import Asset

PERIOD_SETTLED = Asset(name="casslink_period_settled", uri="casslink://settlement/period-settled",
                       group="casslink")
