"""The paper's experiment grid: every task subset as STN and MTN, wSTN, reports."""
