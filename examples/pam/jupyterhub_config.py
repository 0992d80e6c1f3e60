# jupyterhub_config.py lines for otpgate's PAM module (/etc/pam.d/jupyterhub).
#
# JupyterHub 5 and later (pamela 1.1+) need only these four lines: the form
# gets an "OTP (optional):" field and pamela answers PAM's hidden prompts
# with the password, then the code.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.service = "jupyterhub"
c.PAMAuthenticator.request_otp = True
c.PAMAuthenticator.otp_prompt = "OTP (optional):"

# Debian 12's JupyterHub 3.0 (pamela 1.0) has neither setting: the class
# below adds them, answers (password, code) exactly as pamela 1.1+ does, and
# passes the client's address as PAM_RHOST (otpgate throttles and logs it);
# jupyterhub-templates/login.html adds the field to the form (3.0 hands every
# form field to the authenticator). Drop this part on JupyterHub 5.
import os

import pamela
from jupyterhub.auth import PAMAuthenticator
from tornado.concurrent import run_on_executor
from traitlets import Bool, Unicode

if not hasattr(PAMAuthenticator, "request_otp"):

    class OTPPAMAuthenticator(PAMAuthenticator):
        request_otp = Bool(False, config=True, help="Ask for a one-time code")
        otp_prompt = Unicode("OTP:", config=True, help="The code field's label")

        @run_on_executor
        def authenticate(self, handler, data):
            username = data["username"]
            answers = [data["password"]]
            if self.request_otp:
                answers.append(data.get("otp", ""))
            conv = pamela.new_simple_password_conv(answers, self.encoding)
            try:
                h = pamela.pam_start(self.service, username, conv_func=conv, encoding=self.encoding)
            except pamela.PAMError as e:
                self.log.warning("PAM start failed: %s", e)
                return None
            try:
                if handler is not None:
                    h.set_item(pamela.PAM_RHOST, handler.request.remote_ip)
                rv = pamela.PAM_AUTHENTICATE(h, 0)
            finally:
                pamela.PAM_END(h, 0)
            if rv != 0:
                self.log.warning("PAM Authentication failed (%s): %s", username, pamela.PAMError(errno=rv))
                return None
            if self.check_account:
                try:
                    pamela.check_account(username, service=self.service, encoding=self.encoding)
                except pamela.PAMError as e:
                    self.log.warning("PAM Account Check failed (%s): %s", username, e)
                    return None
            return username

    c.JupyterHub.authenticator_class = OTPPAMAuthenticator
    c.OTPPAMAuthenticator.service = "jupyterhub"
    c.OTPPAMAuthenticator.request_otp = True
    c.OTPPAMAuthenticator.otp_prompt = "OTP (optional):"
    # examples/pam/jupyterhub-templates/login.html, copied there:
    c.JupyterHub.template_paths = [os.environ.get("OTPGATE_JUPYTERHUB_TEMPLATES", "/etc/jupyterhub/templates")]
    c.JupyterHub.template_vars = {"otp_prompt": "OTP (optional):"}
