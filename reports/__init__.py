"""Documents made from the cluster's record: the Excel workbooks (reports.workbook) and Word files.

Neither persistence (storage/) nor the product's commands (commands/): these modules take rows that
storage/ has read and write a file. They never touch the database or the platform.
"""
