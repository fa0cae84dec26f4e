print("semcom")
