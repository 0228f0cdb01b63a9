"""Manager changes (管理者帳號申請、異動表 B and C): filed, verified, reviewed and applied."""
