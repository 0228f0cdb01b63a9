"""Form data the tests print: what a clinic's manager would have typed in."""

from datetime import date

from portal.printing import ManagerFormData

# Kind A (初次管理者帳號申請) for 臺北虛擬診所, the demo clinic.
FORM_A = ManagerFormData(
    application_no="20260315123456",
    applied_on=date(2026, 3, 15),
    kind="A",
    change=None,
    institution_name="臺北虛擬診所",
    institution_code="3501200000",
    username="taipei.manager",
    applicant_name="王小明",
    national_id_display="A12345****",
    department="家庭醫學科",
    phone_area="02",
    phone_number="12345678",
    phone_extension="123",
    email="manager@clinic.example.tw",
)
