"""Rules about who a person is, shared by every domain: ID numbers, phones, the password policy.

They sit below registration, sign-in, accounts and the command line, so those import them
and they import none of those.
"""
