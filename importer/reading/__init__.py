"""Reading: a sheet (csv, xlsx, xls, ods) into a frame of text cells; knows nothing of leads."""
