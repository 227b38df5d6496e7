"""The Korean search engine over archive records: analysis (Kiwi morphology, Hanja readings,
n-grams), the Whoosh index, and the searcher that scores, filters, facets and highlights.

It knows documents (``archive.services.documents.record_document``), not requests: the
door is ``archive/search_api.py``, the index jobs are in ``archive/jobs.py`` and the reindex
command in ``archive/cli.py``.
"""
