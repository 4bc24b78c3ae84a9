"""Billing: prorated postpaid lines, prepaid purchases and usage overage (R6, R7, R11, R14).

``sim.billing.bill`` is the entry point (:mod:`sim.billing.bills`, where the conventions are
stated); :data:`POLICIES` is the registry of proration policies (:mod:`sim.billing.policies`),
:data:`BILL_COLUMNS` the columns of a bill. The three kinds of line are built in
:mod:`sim.billing.lines`, on the calendar columns of :mod:`sim.billing.arrays`.
"""

from sim.billing.bills import BILL_COLUMNS, POLICIES, bill

__all__ = ["BILL_COLUMNS", "POLICIES", "bill"]
