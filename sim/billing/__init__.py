"""Billing: prorated postpaid lines, prepaid purchases and usage overage (R6, R7, R11, R14).

``sim.billing.bill`` is the entry point; see :mod:`sim.billing.bills`.
"""

from sim.billing.bills import BILL_COLUMNS, POLICIES, bill

__all__ = ["BILL_COLUMNS", "POLICIES", "bill"]
