"""Account applications (帳號申請): the form, the password policy, progress look-up."""
