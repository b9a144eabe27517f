-- wrk load for scripts/bench_receiver.sh: the same NetBox-style webhook against every receiver.
-- A 535-byte JSON POST with the X-Hook-Signature NetBox would send for the secret "benchmark".
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hook-Signature"] = "225c4c8df21ede6e03e76b5963133e2b4d0ebd0c1fdb6e1c22abfbe5c364437b933e0bd7044c28673f36032e32e2e1d6da4df35db65653d9cd0a85e783d1e884"
wrk.body = [[{"event": "created", "timestamp": "2026-03-06T15:11:23.503186+00:00", "object_type": "dcim.site", "username": "admin", "request_id": "b4e7b3c5-8c9a-4d1e-9f3a-2b6c7d8e9f01", "data": {"id": 4, "url": "/api/dcim/sites/4/", "display": "Site 4", "name": "Site 4", "slug": "site-4", "status": {"value": "active", "label": "Active"}, "region": null, "tenant": null, "facility": "", "time_zone": null, "description": "", "tags": [], "custom_fields": {}, "created": "2026-03-06T15:11:23.480123Z", "last_updated": "2026-03-06T15:11:23.480140Z"}}]]
