package com.example.authcore.app.authenticator

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import com.example.authcore.core.ApprovalKind
import com.example.authcore.core.ApprovalRequest
import com.example.authcore.core.NumberPrompt
import java.text.DateFormat
import java.util.Date

/**
 * "Are you trying to sign in?": where the sign-in comes from, then the number as the request's
 * prompt asks (type it, or pick one of the choices). Approve hands the number to the core, which
 * shows BiometricPrompt (UserVerification) before it signs; Deny and Report fraud answer at once.
 */
@Composable
fun ApprovalScreen(
    request: ApprovalRequest,
    error: String?,
    busy: Boolean,
    onApprove: (String) -> Unit,
    onDeny: () -> Unit,
    onReportFraud: () -> Unit,
    onClose: () -> Unit,
) {
    var number by remember(request.id) { mutableStateOf("") }
    val context = request.context
    Column(Modifier.fillMaxWidth().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        TextButton(onClick = onClose) { Text("Later") }
        Text(
            if (request.kind == ApprovalKind.TEST) "Finish setting up" else "Are you trying to sign in?",
            style = MaterialTheme.typography.headlineSmall,
        )
        Text(request.accountLabel)
        Text("App: ${context.app}")
        Text("IP address: ${context.ip}" + (context.location?.let { " ($it)" } ?: ""))
        Text("Device: ${context.userAgent}")
        Text("Time: " + DateFormat.getDateTimeInstance().format(Date.from(context.time)))
        if (error != null) Text(error, color = MaterialTheme.colorScheme.error)

        when (val prompt = request.prompt) {
            is NumberPrompt.Enter -> {
                Text("Enter the number shown on the sign-in screen")
                OutlinedTextField(
                    value = number,
                    onValueChange = { number = it.filter(Char::isDigit).take(prompt.length.toInt()) },
                    singleLine = true,
                    keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword),
                )
            }
            is NumberPrompt.Choose -> {
                Text("Tap the number shown on the sign-in screen")
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    prompt.choices.forEach { choice ->
                        FilterChip(
                            selected = number == choice,
                            onClick = { number = choice },
                            label = { Text(choice, style = MaterialTheme.typography.headlineMedium) },
                        )
                    }
                }
            }
        }

        Button(onClick = { onApprove(number) }, enabled = !busy, modifier = Modifier.fillMaxWidth()) { Text("Approve") }
        OutlinedButton(onClick = onDeny, enabled = !busy, modifier = Modifier.fillMaxWidth()) { Text("Deny") }
        if (request.kind == ApprovalKind.SIGN_IN) {
            TextButton(onClick = onReportFraud, enabled = !busy) { Text("Report fraud") }
        }
    }
}
