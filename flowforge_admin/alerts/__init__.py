"""Sending a flow's alerts: after the change that raised them commits, by a worker, recorded.

- :mod:`.watch` decides, cheaply, whether an event of a flow has alerts
  (a per-process cache), and after the commit creates one AlertDelivery per
  alert and hands each to Django-Q2;
- :mod:`.delivery` is what a worker runs for one delivery: one attempt,
  recorded, and the next one planned with backoff through a one-off schedule;
- :mod:`.channels` sends by e-mail, webhook or Python callable, and
  :mod:`.payload` builds what they send;
- :mod:`.sla` finds the runs late for an SLA (called by the lost-work check).

Nothing here runs inside the engine's transactions, and no failure of a
channel reaches a run: everything is caught and recorded on the delivery.
"""
