package com.example.authcore.app.signin

import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.foundation.clickable
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import com.example.authcore.core.MethodKind
import com.example.authcore.SignInState

/** The method list: the core's display names ("Email a code to a***@acme.example") as they come. */
@Composable
fun MethodListScreen(state: SignInState.ChooseMethod, error: String?, busy: Boolean, vm: SignInViewModel) {
    SignInPage(
        title = state.organization?.let { "Sign in to $it" } ?: "Sign in",
        subtitle = state.identifier,
        error = error,
        onBack = vm::back,
    ) {
        state.methods.forEach { method ->
            ListItem(
                headlineContent = { Text(method.displayName) },
                modifier = Modifier.clickable(enabled = !busy) { vm.chooseMethod(method) },
            )
            HorizontalDivider()
        }
        if (state.methods.any { it.kind == MethodKind.PASSWORD }) {
            TextButton(onClick = { vm.forgotPassword(state.identifier) }, enabled = !busy) {
                Text("Forgot password?")
            }
        }
    }
}

/** "Verify it's you": "Authenticator app code" / "Backup code" / the phone. */
@Composable
fun SecondFactorScreen(state: SignInState.ChooseSecondFactor, error: String?, busy: Boolean, vm: SignInViewModel) {
    SignInPage("Verify it's you", error = error, onBack = vm::back) {
        state.options.forEach { option ->
            ListItem(
                headlineContent = { Text(option.displayName) },
                modifier = Modifier.clickable(enabled = !busy) { vm.chooseSecondFactor(option.kind) },
            )
            HorizontalDivider()
        }
    }
}
