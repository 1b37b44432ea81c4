package com.example.authcore.app.signin

import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import com.example.authcore.SignInState

/** "Protect your account": set up the authenticator, or skip while the core allows it. */
@Composable
fun EnrollScreen(state: SignInState.EnrollAuthenticator, error: String?, busy: Boolean, vm: SignInViewModel) {
    SignInPage(
        "Protect your account",
        subtitle = "Use the Authcore app on your phone to approve sign-ins.",
        error = error,
    ) {
        Button(onClick = vm::enrollAuthenticator, enabled = !busy) { Text("Set it up now") }
        if (!state.mandatory) {
            TextButton(onClick = vm::skipEnrollment, enabled = !busy) {
                Text("Skip for now (${state.skipsLeft} times left)")
            }
        }
    }
}
