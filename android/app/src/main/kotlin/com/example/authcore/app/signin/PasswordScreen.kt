package com.example.authcore.app.signin

import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import com.example.authcore.SignInState

/** Password field. A wrong password keeps this screen; the error says how many attempts are left. */
@Composable
fun PasswordScreen(state: SignInState.EnterPassword, error: String?, busy: Boolean, vm: SignInViewModel) {
    var password by remember(state) { mutableStateOf("") } // never saved to the bundle
    SignInPage("Enter your password", subtitle = state.identifier, error = error, onBack = vm::back) {
        SecretField(password, "Password") { password = it }
        Button(onClick = { vm.submitPassword(password) }, enabled = !busy) { Text("Sign in") }
        TextButton(onClick = { vm.forgotPassword(state.identifier) }, enabled = !busy) { Text("Forgot password?") }
    }
}

/** After the reset code: the new password; the core answers `EnterPassword`. */
@Composable
fun NewPasswordScreen(state: SignInState.ChooseNewPassword, error: String?, busy: Boolean, vm: SignInViewModel) {
    var password by remember(state) { mutableStateOf("") }
    SignInPage("Choose a new password", subtitle = state.identifier, error = error) {
        SecretField(password, "New password") { password = it }
        Button(onClick = { vm.chooseNewPassword(password) }, enabled = !busy) { Text("Save password") }
    }
}
