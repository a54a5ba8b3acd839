"""Render a stored run: PDF, workbook, evidence files, OSCAL."""
